/// A record that writes itself as one JSON object with the reference's snake_case keys.
public protocol JSONRecord: Sendable {
    func writeJSON(to writer: inout JSONWriter)

    /// Writes the record and updates `fingerprint`, the hash of each field as last written (empty for a record not
    /// written before). With `onlyChanged`, writes only the fields whose hash changed: merged into the record as
    /// last written, they give this one. Deltas send latest logs this way.
    func writeJSON(to writer: inout JSONWriter, fingerprint: inout [UInt64], onlyChanged: Bool)
}

extension JSONRecord {
    /// The record alone, as bytes.
    public func encodedJSON() -> [UInt8] {
        var writer = JSONWriter()
        writeJSON(to: &writer)
        return writer.bytes
    }

    /// Every field, nothing remembered: correct for any record (merging every field replaces the record), if
    /// larger than needed.
    public func writeJSON(to writer: inout JSONWriter, fingerprint: inout [UInt64], onlyChanged: Bool) {
        writeJSON(to: &writer)
    }
}
