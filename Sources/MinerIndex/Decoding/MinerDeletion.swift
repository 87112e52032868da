/// The body of a delete message: `{"id": N}`.
enum MinerDeletion {
    private static let schema = JSONObjectSchema(keys: ["id"])
    private static let id = schema.slot("id")

    static func decodeId(json body: UnsafeRawBufferPointer, limits: DecodingLimits) throws(RecordDecodingError)
        -> Int64
    {
        try schema.withParsedObject(body, limits: limits) { (fields) throws(RecordDecodingError) in
            try fields.requiredIdentifier(id)
        }
    }
}
