/// Writes the fields of one record, and can remember each field's value in 64 bits (the record's fingerprint) so
/// that the next write of the same record sends only the fields whose value changed: the changed fields a delta
/// sends for a log its subscribers already hold (see `deltaParts`).
///
/// A subscriber that merges the changed fields must end up with exactly the record a keyframe would carry, so
/// what is compared decides the bytes written: a number's bit pattern, a hash of a string's bytes as written
/// (escaped). A fingerprint, rather than the previous record, is kept because reading
/// the previous log back (cold in memory, with its strings and arrays retained and released) cost more than
/// writing the whole record, and keeping it alive moved every replaced log's release into the broadcast. Two
/// different strings of one field with the same 64-bit hash would go unsent; a subscriber's copy would then be
/// wrong in that field until the next keyframe.
struct RecordFields {
    private enum Mode {
        /// Every field, nothing remembered.
        case plain
        /// Every field, each one's hash remembered.
        case everyField
        /// The fields whose hash differs from the one remembered, every hash remembered.
        case changedFields
    }

    private let mode: Mode
    /// The hash of each field's value, in writing order, as last written.
    var fingerprint: [UInt64] = []
    private var field = 0

    static var plain: RecordFields { RecordFields(mode: .plain) }

    init(onlyChanged: Bool) {
        mode = onlyChanged ? .changedFields : .everyField
    }

    private init(mode: Mode) {
        self.mode = mode
    }

    mutating func integer(_ key: JSONKey, _ value: Int64, to writer: inout JSONWriter) {
        guard remember(UInt64(bitPattern: value)) else { return }
        writer.key(key)
        writer.integer(value)
    }

    mutating func decimal(_ key: JSONKey, _ value: Double?, to writer: inout JSONWriter) {
        guard remember(value.map(\.bitPattern) ?? Self.absentNumber) else { return }
        writer.key(key)
        writer.decimal(value)
    }

    mutating func wholeOrDecimal(_ key: JSONKey, _ value: Double?, to writer: inout JSONWriter) {
        guard remember(value.map(\.bitPattern) ?? Self.absentNumber) else { return }
        writer.key(key)
        writer.wholeOrDecimal(value)
    }

    mutating func timestamp(_ key: JSONKey, _ value: Timestamp?, to writer: inout JSONWriter) {
        guard remember(value.map { UInt64(bitPattern: $0.microsecondsSinceEpoch) } ?? Self.absentTimestamp) else {
            return
        }
        writer.key(key)
        writer.timestamp(value)
    }

    /// A string is remembered by a hash of its UTF-8 bytes, which decide its escaped bytes as written.
    mutating func string(_ key: JSONKey, _ value: String?, to writer: inout JSONWriter) {
        if case .plain = mode {
            writer.key(key)
            writer.string(value)
            return
        }
        guard remember(value.map(Self.hash) ?? Self.absentString) else { return }
        writer.key(key)
        writer.string(value)
    }

    private static func hash(_ string: String) -> UInt64 {
        // Native strings are contiguous; a bridged one is copied first.
        string.utf8.withContiguousStorageIfAvailable(FieldHash.of)
            ?? Array(string.utf8).withUnsafeBufferPointer(FieldHash.of)
    }

    /// A number's fingerprint is its bit pattern, which decides its written bytes, so no hash (and no formatting
    /// of an unchanged number) is needed. An absent number is written as null, as NaN is: this NaN pattern stands
    /// for it.
    private static let absentNumber: UInt64 = 0x7FF8_0000_0000_0A0A
    private static let absentString: UInt64 = 0x6E75_6C6C_6E75_6C6C
    /// No timestamp the decoder accepts is this many microseconds before 1970.
    private static let absentTimestamp = UInt64(bitPattern: Int64.min)

    /// Records `fingerprint` as the current field's; false when the field is unchanged and only changes are
    /// written, so the caller writes nothing.
    @inline(__always)
    private mutating func remember(_ value: UInt64) -> Bool {
        if case .plain = mode { return true }
        defer { field += 1 }
        guard field < fingerprint.count else {
            fingerprint.append(value)
            return true
        }
        let unchanged = fingerprint[field] == value
        fingerprint[field] = value
        if unchanged, case .changedFields = mode { return false }
        return true
    }
}

/// A fast 64-bit hash of a field's bytes: eight bytes at a time, each folded in with one multiplication, then
/// SplitMix64's finalizer. Not cryptographic: a field is compared with its own earlier value, not defended against
/// crafted collisions.
enum FieldHash {
    @inline(__always)
    static func of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return finalize(hash) }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        while offset + 8 <= bytes.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail = tail << 8 | UInt64(base[index]) }
            hash = (hash ^ tail) &* 0xFF51_AFD7_ED55_8CCD
        }
        return finalize(hash)
    }

    @inline(__always)
    private static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
