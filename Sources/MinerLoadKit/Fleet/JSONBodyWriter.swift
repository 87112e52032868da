/// Writes the flat JSON objects of miner messages straight into bytes. At 20,000 messages a second a generic
/// serializer would cost the generator a core; this keeps it to a few microseconds a message.
public struct JSONBodyWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(reservingCapacity capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    public mutating func string(_ key: String, _ value: String?) {
        guard let value else { return }
        writeKey(key)
        appendQuoted(value)
    }

    public mutating func integer(_ key: String, _ value: Int64?) {
        guard let value else { return }
        writeKey(key)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        Self.appendDigits(value.magnitude, to: &bytes)
    }

    public mutating func decimal(_ key: String, _ value: FixedDecimal?) {
        guard let value else { return }
        writeKey(key)
        value.write(to: &bytes)
    }

    public mutating func bool(_ key: String, _ value: Bool) {
        writeKey(key)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    /// Any JSON text as the value, for deliberately malformed messages.
    public mutating func raw(_ key: String, _ text: String) {
        writeKey(key)
        bytes.append(contentsOf: text.utf8)
    }

    private mutating func writeKey(_ key: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Generated strings are plain ASCII, but escape anyway so that nothing a caller passes can break the JSON.
    private mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hexDigit(byte >> 4))
                bytes.append(Self.hexDigit(byte & 0xF))
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    static func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
        guard value > 0 else {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var remaining = value
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while remaining > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }
}
