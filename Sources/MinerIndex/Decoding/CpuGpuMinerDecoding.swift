extension CpuGpuMiner {
    /// `api_code` is deliberately not a key here: the secret is never read into the record.
    private enum Fields {
        static let schema = JSONObjectSchema(
            keys: [
                "id", "name", "motherboard_name", "cpu_name", "ram_size", "activated", "inserted_at", "updated_at",
            ] + (1...CpuGpuMiner.gpuCount).map { "gpu_\($0)_name" })
        static let id = schema.slot("id")
        static let name = schema.slot("name")
        static let motherboardName = schema.slot("motherboard_name")
        static let cpuName = schema.slot("cpu_name")
        static let ramSize = schema.slot("ram_size")
        static let activated = schema.slot("activated")
        static let insertedAt = schema.slot("inserted_at")
        static let updatedAt = schema.slot("updated_at")
        static let gpuNames = (1...CpuGpuMiner.gpuCount).map { schema.slot("gpu_\($0)_name") }
    }

    /// Decodes an upsert body. Required: `id` and `activated`, as for ASICs.
    public static func decode(
        json body: UnsafeRawBufferPointer, limits: DecodingLimits = .init()
    ) throws(RecordDecodingError) -> CpuGpuMiner {
        try Fields.schema.withParsedObject(body, limits: limits) { (fields) throws(RecordDecodingError) in
            var gpuNames: [String?] = []
            gpuNames.reserveCapacity(gpuCount)
            for slot in Fields.gpuNames { gpuNames.append(try fields.string(slot)) }
            return CpuGpuMiner(
                id: try fields.requiredIdentifier(Fields.id),
                name: try fields.string(Fields.name),
                motherboardName: try fields.string(Fields.motherboardName),
                cpuName: try fields.string(Fields.cpuName),
                ramSize: try fields.scalar(Fields.ramSize),
                gpuNames: gpuNames,
                activated: try fields.requiredBool(Fields.activated),
                insertedAt: try fields.timestamp(Fields.insertedAt),
                updatedAt: try fields.timestamp(Fields.updatedAt))
        }
    }

    public static func decode(json body: [UInt8], limits: DecodingLimits = .init())
        throws(RecordDecodingError) -> CpuGpuMiner
    {
        try withBody(body, limits: limits) { (buffer) throws(RecordDecodingError) in
            try decode(json: buffer, limits: limits)
        }
    }
}
