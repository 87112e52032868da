extension CpuGpuMiner: JSONRecord {
    private enum Keys {
        static let id = JSONKey("id"), name = JSONKey("name"), motherboardName = JSONKey("motherboard_name")
        static let cpuName = JSONKey("cpu_name"), ramSize = JSONKey("ram_size"), activated = JSONKey("activated")
        static let insertedAt = JSONKey("inserted_at"), updatedAt = JSONKey("updated_at")
        static let gpuNames = (1...CpuGpuMiner.gpuCount).map { JSONKey("gpu_\($0)_name") }
    }

    /// Every reference field but `api_code`, which the record does not even hold.
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key(Keys.id); writer.integer(id)
        writer.key(Keys.name); writer.string(name)
        writer.key(Keys.motherboardName); writer.string(motherboardName)
        writer.key(Keys.cpuName); writer.string(cpuName)
        writer.key(Keys.ramSize)
        switch ramSize {
        case let .number(value): writer.wholeOrDecimal(value)
        case let .text(value): writer.string(value)
        case nil: writer.null()
        }
        for (gpuName, key) in zip(gpuNames, Keys.gpuNames) {
            writer.key(key); writer.string(gpuName)
        }
        writer.key(Keys.activated); writer.bool(activated)
        writer.key(Keys.insertedAt); writer.timestamp(insertedAt)
        writer.key(Keys.updatedAt); writer.timestamp(updatedAt)
        writer.endObject()
    }
}
