/// A record that writes itself as one JSON object with the reference's snake_case keys.
public protocol JSONRecord: Sendable {
    func writeJSON(to writer: inout JSONWriter)
}

extension JSONRecord {
    /// The record alone, as bytes.
    public func encodedJSON() -> [UInt8] {
        var writer = JSONWriter()
        writeJSON(to: &writer)
        return writer.bytes
    }
}
