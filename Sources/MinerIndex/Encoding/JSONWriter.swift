import CSimdJSON

/// A forward-only JSON writer into a byte array, for the flat records of this module. It inserts commas itself:
/// every key or value is preceded by one when the previous item in the same container needs it.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(reservingCapacity capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func key(_ key: JSONKey) {
        separate()
        bytes.append(contentsOf: key.encoded)
        needsComma = false
    }

    /// An object key made of a decimal id, as the broadcast maps use.
    public mutating func key(id: Int64) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        appendDigits(id)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    public mutating func key(_ name: String) {
        separate()
        appendEscaped(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        appendEscaped(value)
        needsComma = true
    }

    public mutating func string(_ value: String?) {
        guard let value else { return null() }
        string(value)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { bytes.append(contentsOf: "true".utf8) } else { bytes.append(contentsOf: "false".utf8) }
        needsComma = true
    }

    public mutating func integer(_ value: Int64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    public mutating func integer(_ value: UInt64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    /// For quantities the reference calls integers but producers may send as floats (power, temperatures, fans,
    /// shares): whole values print without a fraction, others as the shortest exact decimal.
    public mutating func wholeOrDecimal(_ value: Double?) {
        guard let value else { return null() }
        if value == value.rounded(), abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            decimal(value)
        }
    }

    /// For quantities that are floats by nature (hashrates, rates): the shortest text that reads back exactly,
    /// always with a fraction or exponent so it stays visibly a float ("120.0"). JSON has no NaN or infinity,
    /// so those become null.
    public mutating func decimal(_ value: Double?) {
        guard let value, value.isFinite else { return null() }
        separate()
        let start = bytes.count
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            guard let base = buffer.baseAddress else { return }
            let length = Int(csj_format_double(value, base))
            UnsafeRawBufferPointer(start: base, count: length).withMemoryRebound(to: UInt8.self) { digits in
                bytes.append(contentsOf: digits)
            }
        }
        if !bytes[start...].contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }) {
            bytes.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")])
        }
        needsComma = true
    }

    /// A compacted `Float` as its own shortest text, so 1.5e12 stored as Float prints as 1.5e+12 rather than
    /// the 1500000026624.0 its Double widening would show.
    mutating func compactDecimal(_ value: Float?) {
        guard let value, value.isFinite else { return null() }
        separate()
        let text = value.description
        bytes.append(contentsOf: text.utf8)
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }) {
            bytes.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")])
        }
        needsComma = true
    }

    public mutating func timestamp(_ value: Timestamp?) {
        guard let value else { return null() }
        separate()
        bytes.append(UInt8(ascii: "\""))
        ISO8601Timestamp.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Splices an already encoded JSON value.
    public mutating func raw(_ encoded: [UInt8]) {
        separate()
        bytes.append(contentsOf: encoded)
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendDigits(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
    }

    private mutating func appendDigits(_ value: UInt64) {
        let start = bytes.count
        var remaining = value
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        bytes[start...].reverse()
    }

    private mutating func appendEscaped(_ value: String) {
        var text = value
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            if !utf8.contains(where: JSONWriter.needsEscape) {
                bytes.append(contentsOf: utf8)
            } else {
                for byte in utf8 { appendEscaped(byte) }
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        case ..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
        default: bytes.append(byte)
        }
    }
}

/// An object key encoded once, quotes and colon included, so writing it is a single copy.
public struct JSONKey: Sendable, Hashable {
    let encoded: [UInt8]

    public init(_ name: String) {
        var writer = JSONWriter(reservingCapacity: name.utf8.count + 3)
        writer.key(name)
        encoded = writer.bytes
    }
}
