import CSimdJSON

/// A forward-only JSON writer for the flat records of this module. It inserts commas itself: every key or value
/// is preceded by one when the previous item in the same container needs it. Copy-on-write, like Array.
public struct JSONWriter: Sendable {
    private var buffer: JSONWriterStorage
    private var needsComma = false

    public init(reservingCapacity capacity: Int = 256) {
        buffer = JSONWriterStorage(capacity: capacity)
    }

    /// The bytes written so far (a copy).
    public var bytes: [UInt8] { buffer.toArray() }

    public var count: Int { buffer.count }

    /// Empties the writer but keeps its allocation, for reuse as scratch space.
    public mutating func removeAll() {
        uniqueBuffer().removeAll()
        needsComma = false
    }

    /// Calls `body` with the bytes written so far, without copying them.
    public func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: buffer.base, count: buffer.count))
    }

    @inline(__always)
    private mutating func uniqueBuffer() -> JSONWriterStorage {
        if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
        return buffer
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() { open(UInt8(ascii: "[")) }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    public mutating func key(_ key: JSONKey) {
        let output = separated()
        output.append(key.encoded)
        needsComma = false
    }

    /// An object key made of a decimal id, as the broadcast maps use.
    public mutating func key(id: Int64) {
        let output = separated()
        output.append(UInt8(ascii: "\""))
        Self.appendDigits(id, to: output)
        output.append(UInt8(ascii: "\""))
        output.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func key(_ name: String) {
        let output = separated()
        Self.appendQuoted(name, to: output)
        output.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String) {
        Self.appendQuoted(value, to: separated())
        needsComma = true
    }

    public mutating func string(_ value: String?) {
        guard let value else { return null() }
        string(value)
    }

    public mutating func null() { literal("null") }

    public mutating func bool(_ value: Bool) { literal(value ? "true" : "false") }

    public mutating func integer(_ value: Int64) {
        Self.appendDigits(value, to: separated())
        needsComma = true
    }

    public mutating func integer(_ value: UInt64) {
        Self.appendDigits(value, to: separated())
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
        let output = separated()
        let destination = output.reserve(34)
        let length = destination.withMemoryRebound(to: CChar.self, capacity: 32) {
            Int(csj_format_double(value, $0))
        }
        output.advance(length)
        Self.markAsFloat(output.last(length), output)
        needsComma = true
    }

    /// A compacted `Float` as its own shortest text, so 1.5e12 stored as Float prints as 1.5e+12 rather than
    /// the 1500000026624.0 its Double widening would show.
    mutating func compactDecimal(_ value: Float?) {
        guard let value, value.isFinite else { return null() }
        let output = separated()
        var text = value.description
        text.withUTF8 { output.append($0) }
        Self.markAsFloat(output.last(text.utf8.count), output)
        needsComma = true
    }

    public mutating func timestamp(_ value: Timestamp?) {
        guard let value else { return null() }
        let output = separated()
        output.append(UInt8(ascii: "\""))
        let destination = output.reserve(ISO8601Timestamp.maximumLength)
        output.advance(ISO8601Timestamp.write(value, to: destination))
        output.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Splices an already encoded JSON value.
    public mutating func raw(_ encoded: [UInt8]) {
        encoded.withUnsafeBufferPointer { raw($0) }
    }

    public mutating func raw(_ encoded: UnsafeBufferPointer<UInt8>) {
        separated().append(encoded)
        needsComma = true
    }

    /// A place in the output to go back to.
    public struct Mark: Sendable {
        fileprivate let count: Int
        fileprivate let needsComma: Bool
    }

    public var mark: Mark { Mark(count: buffer.count, needsComma: needsComma) }

    /// Drops what was written after `mark`.
    public mutating func rewind(to mark: Mark) {
        uniqueBuffer().truncate(to: mark.count)
        needsComma = mark.needsComma
    }

    /// A copy of the bytes written from offset `start` on.
    func bytes(from start: Int) -> [UInt8] {
        withBytes { written in Array(written[start...]) }
    }

    // MARK: Plumbing

    /// The buffer, ready for the next item: unique, and with the comma written if one is due.
    @inline(__always)
    private mutating func separated() -> JSONWriterStorage {
        let output = uniqueBuffer()
        if needsComma { output.append(UInt8(ascii: ",")) }
        return output
    }

    private mutating func open(_ bracket: UInt8) {
        separated().append(bracket)
        needsComma = false
    }

    private mutating func close(_ bracket: UInt8) {
        uniqueBuffer().append(bracket)
        needsComma = true
    }

    private mutating func literal(_ text: StaticString) {
        separated().append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        needsComma = true
    }

    /// Appends ".0" when the number just written has neither a fraction nor an exponent.
    private static func markAsFloat(_ written: UnsafeBufferPointer<UInt8>, _ output: JSONWriterStorage) {
        if !written.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") }) {
            output.append(UInt8(ascii: "."))
            output.append(UInt8(ascii: "0"))
        }
    }

    private static func appendDigits(_ value: Int64, to output: JSONWriterStorage) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, to: output)
    }

    private static func appendDigits(_ value: UInt64, to output: JSONWriterStorage) {
        var length = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            length += 1
        }
        let destination = output.reserve(length)
        var remaining = value
        for position in stride(from: length - 1, through: 0, by: -1) {
            destination[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        output.advance(length)
    }

    private static func appendQuoted(_ value: String, to output: JSONWriterStorage) {
        output.append(UInt8(ascii: "\""))
        let handled: Void? = value.utf8.withContiguousStorageIfAvailable { utf8 in
            if !utf8.contains(where: needsEscape) {
                output.append(utf8)
            } else {
                for byte in utf8 { appendEscaped(byte, to: output) }
            }
        }
        if handled == nil {
            for byte in value.utf8 { appendEscaped(byte, to: output) }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private static func appendEscaped(_ byte: UInt8, to output: JSONWriterStorage) {
        let escape: UInt8? =
            switch byte {
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            case 0x0A: UInt8(ascii: "n")
            case 0x0D: UInt8(ascii: "r")
            case 0x09: UInt8(ascii: "t")
            case 0x08: UInt8(ascii: "b")
            case 0x0C: UInt8(ascii: "f")
            default: nil
            }
        if let escape {
            output.append(UInt8(ascii: "\\"))
            output.append(escape)
        } else if byte < 0x20 {
            let hex: StaticString = "0123456789abcdef"
            for character in [
                UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0x0F)],
            ] {
                output.append(character)
            }
        } else {
            output.append(byte)
        }
    }
}

/// An object key encoded once, quotes and colon included, so writing it is a single copy.
///
/// The bytes live in a buffer that is never freed: keys are created once, as statics, and sharing a raw buffer
/// spares the retain and release an array would cost on every field of every record written.
/// `@unchecked Sendable` because the buffer is immutable after `init`.
public struct JSONKey: @unchecked Sendable, Hashable {
    let encoded: UnsafeBufferPointer<UInt8>

    public init(_ name: String) {
        var writer = JSONWriter(reservingCapacity: name.utf8.count + 3)
        writer.key(name)
        let written = writer.bytes
        let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: written.count)
        _ = storage.initialize(from: written)
        encoded = UnsafeBufferPointer(storage)
    }

    public static func == (lhs: JSONKey, rhs: JSONKey) -> Bool { lhs.encoded.elementsEqual(rhs.encoded) }

    public func hash(into hasher: inout Hasher) { hasher.combine(bytes: UnsafeRawBufferPointer(encoded)) }
}
