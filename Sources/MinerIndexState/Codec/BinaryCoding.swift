import MinerIndex

/// Why bytes read back from a store could not be decoded. A store that returns them is damaged or was written by
/// something else; the caller decides whether that is worth moving the file aside.
public struct StateDecodingError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Appends the compact binary forms the store's records are made of.
///
/// Numbers are what the records hold as `Double`. Producers send decimals such as `110.523` or `65`, so a number
/// whose value is exactly `m / 10^k` for a small k is written as k and m (a few bytes), and only the rest as the
/// full eight bytes. `Double(m) / 10^k` is correctly rounded, so the value read back is bit for bit the one
/// written: totals summed after a restore are the totals summed before it.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: rest))
    }

    mutating func signed(_ value: Int64) {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func fixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func fixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func raw(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    mutating func raw(_ other: ArraySlice<UInt8>) { bytes.append(contentsOf: other) }

    mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A number is one varint: the zigzagged mantissa shifted left by four bits, with the scale (0...9) in the low
    /// bits; 10 in the low bits means absent, 11 means the eight bytes of the double follow.
    static let absentNumber: UInt64 = 10
    static let rawNumber: UInt64 = 11
    private static let maximumScale = 9

    mutating func number(_ value: Double?) {
        guard let value else { return varint(Self.absentNumber) }
        if let (scale, mantissa) = Self.decimal(value) {
            varint(UInt64(bitPattern: (mantissa << 1) ^ (mantissa >> 63)) << 4 | UInt64(scale))
        } else {
            varint(Self.rawNumber)
            fixed64(value.bitPattern)
        }
    }

    /// `(k, m)` with `Double(m) / 10^k == value` exactly, for the smallest such k, if there is one.
    @inline(__always)
    static func decimal(_ value: Double) -> (Int, Int64)? {
        guard value.isFinite, !(value == 0 && value.sign == .minus) else { return nil }
        for scale in 0...maximumScale {
            let power = powerOfTen(scale)
            let scaled = value * power
            // Mantissas stay below 2^53 (every integer there is a Double) and fit the varint after the shift.
            guard abs(scaled) < 9_007_199_254_740_992 else { return nil }
            // Nearest integer by conversion: cheaper than `rounded()`, which is a library call on baseline x86-64.
            let mantissa = Int64(scaled + (scaled < 0 ? -0.5 : 0.5))
            let candidate = Double(mantissa)
            // The product is within a rounding of the true value, so a scale that cannot work is ruled out by
            // this comparison alone; the exact check (a division) runs about once per number.
            guard abs(scaled - candidate) <= abs(scaled) * 1e-15 else { continue }
            if candidate / power == value { return (scale, mantissa) }
        }
        return nil
    }

    @inline(__always)
    static func powerOfTen(_ scale: Int) -> Double {
        switch scale {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        case 8: 100_000_000
        default: 1_000_000_000
        }
    }

    /// Reserves room for a length written later by `patchLength`: three bytes, a varint padded with continuation
    /// bits (which any varint reader accepts), so the bytes after it need not move.
    mutating func reserveLength() -> Int {
        bytes.append(contentsOf: [0x80, 0x80, 0x00])
        return bytes.count - 3
    }

    static let maximumPatchedLength = 1 << 21 - 1

    mutating func patchLength(at offset: Int) {
        let length = bytes.count - offset - 3
        guard length <= Self.maximumPatchedLength else {
            // Longer than three bytes can say (not possible within the decoder's limits): make room instead.
            var framed = BinaryWriter()
            framed.varint(UInt64(length))
            bytes.replaceSubrange(offset..<(offset + 3), with: framed.bytes)
            return
        }
        bytes[offset] = UInt8(truncatingIfNeeded: length) & 0x7F | 0x80
        bytes[offset + 1] = UInt8(truncatingIfNeeded: length >> 7) & 0x7F | 0x80
        bytes[offset + 2] = UInt8(truncatingIfNeeded: length >> 14) & 0x7F
    }

    static let scaleCount = maximumScale + 1
}

/// Reads what `BinaryWriter` wrote, checking every length and range: bytes from disk are input like any other.
struct BinaryReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var isAtEnd: Bool { offset >= end }

    mutating func byte() throws(StateDecodingError) -> UInt8 {
        guard offset < end else { throw StateDecodingError("record ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(StateDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64 else { throw StateDecodingError("varint longer than 64 bits") }
            result |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func signed() throws(StateDecodingError) -> Int64 {
        let encoded = try varint()
        return Int64(bitPattern: (encoded >> 1) ^ (0 &- (encoded & 1)))
    }

    mutating func count(limit: Int) throws(StateDecodingError) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else { throw StateDecodingError("count \(value) exceeds \(limit)") }
        return Int(value)
    }

    mutating func fixed64() throws(StateDecodingError) -> UInt64 {
        guard end - offset >= 8 else { throw StateDecodingError("record ends early") }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << UInt64(index * 8) }
        offset += 8
        return value
    }

    mutating func fixed32() throws(StateDecodingError) -> UInt32 {
        guard end - offset >= 4 else { throw StateDecodingError("record ends early") }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << UInt32(index * 8) }
        offset += 4
        return value
    }

    mutating func skip(_ length: Int) throws(StateDecodingError) {
        guard length >= 0, end - offset >= length else { throw StateDecodingError("record ends early") }
        offset += length
    }

    mutating func slice(_ length: Int) throws(StateDecodingError) -> ArraySlice<UInt8> {
        guard length >= 0, end - offset >= length else { throw StateDecodingError("record ends early") }
        defer { offset += length }
        return bytes[offset..<(offset + length)]
    }

    mutating func string() throws(StateDecodingError) -> String {
        let length = try count(limit: end - offset)
        let utf8 = try slice(length)
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw StateDecodingError("string is not UTF-8")
        }
        return text
    }

    mutating func number() throws(StateDecodingError) -> Double? {
        let encoded = try varint()
        switch encoded & 0xF {
        case BinaryWriter.absentNumber where encoded == BinaryWriter.absentNumber: return nil
        case BinaryWriter.rawNumber where encoded == BinaryWriter.rawNumber: return Double(bitPattern: try fixed64())
        case let scale where scale < UInt64(BinaryWriter.scaleCount):
            let zigzag = encoded >> 4
            let mantissa = Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
            return Double(mantissa) / BinaryWriter.powerOfTen(Int(scale))
        default: throw StateDecodingError("unknown number tag \(encoded & 0xF)")
        }
    }

    mutating func requiredNumber(_ field: String) throws(StateDecodingError) -> Double {
        guard let value = try number() else { throw StateDecodingError("\(field) is missing") }
        return value
    }
}
