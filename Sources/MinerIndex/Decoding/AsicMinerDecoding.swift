extension AsicMiner {
    /// `api_code` is deliberately not a key here: the secret is never read into the record.
    private enum Fields {
        static let schema = JSONObjectSchema(keys: [
            "id", "name", "firmware_version", "software_version", "model", "model_variant", "activated",
            "asic_expected_status", "light_expected_status", "inserted_at", "updated_at",
        ])
        static let id = schema.slot("id")
        static let name = schema.slot("name")
        static let firmwareVersion = schema.slot("firmware_version")
        static let softwareVersion = schema.slot("software_version")
        static let model = schema.slot("model")
        static let modelVariant = schema.slot("model_variant")
        static let activated = schema.slot("activated")
        static let asicExpectedStatus = schema.slot("asic_expected_status")
        static let lightExpectedStatus = schema.slot("light_expected_status")
        static let insertedAt = schema.slot("inserted_at")
        static let updatedAt = schema.slot("updated_at")
    }

    /// Decodes an upsert body. Required: `id` and `activated`, since an upsert that leaves activation unsaid
    /// would silently list or hide the miner.
    public static func decode(
        json body: UnsafeRawBufferPointer, limits: DecodingLimits = .init()
    ) throws(RecordDecodingError) -> AsicMiner {
        try Fields.schema.withParsedObject(body, limits: limits) { (fields) throws(RecordDecodingError) in
            AsicMiner(
                id: try fields.requiredIdentifier(Fields.id),
                name: try fields.string(Fields.name),
                firmwareVersion: try fields.string(Fields.firmwareVersion),
                softwareVersion: try fields.string(Fields.softwareVersion),
                model: try fields.string(Fields.model),
                modelVariant: try fields.string(Fields.modelVariant),
                activated: try fields.requiredBool(Fields.activated),
                asicExpectedStatus: try fields.string(Fields.asicExpectedStatus),
                lightExpectedStatus: try fields.string(Fields.lightExpectedStatus),
                insertedAt: try fields.timestamp(Fields.insertedAt),
                updatedAt: try fields.timestamp(Fields.updatedAt))
        }
    }

    public static func decode(json body: [UInt8], limits: DecodingLimits = .init())
        throws(RecordDecodingError) -> AsicMiner
    {
        try withBody(body, limits: limits) { (buffer) throws(RecordDecodingError) in
            try decode(json: buffer, limits: limits)
        }
    }
}
