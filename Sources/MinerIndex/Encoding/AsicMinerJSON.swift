extension AsicMiner: JSONRecord {
    private enum Keys {
        static let id = JSONKey("id"), name = JSONKey("name")
        static let firmwareVersion = JSONKey("firmware_version"), softwareVersion = JSONKey("software_version")
        static let model = JSONKey("model"), modelVariant = JSONKey("model_variant")
        static let activated = JSONKey("activated")
        static let asicExpectedStatus = JSONKey("asic_expected_status")
        static let lightExpectedStatus = JSONKey("light_expected_status")
        static let insertedAt = JSONKey("inserted_at"), updatedAt = JSONKey("updated_at")
    }

    /// Every reference field but `api_code`, which the record does not even hold.
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key(Keys.id); writer.integer(id)
        writer.key(Keys.name); writer.string(name)
        writer.key(Keys.firmwareVersion); writer.string(firmwareVersion)
        writer.key(Keys.softwareVersion); writer.string(softwareVersion)
        writer.key(Keys.model); writer.string(model)
        writer.key(Keys.modelVariant); writer.string(modelVariant)
        writer.key(Keys.activated); writer.bool(activated)
        writer.key(Keys.asicExpectedStatus); writer.string(asicExpectedStatus)
        writer.key(Keys.lightExpectedStatus); writer.string(lightExpectedStatus)
        writer.key(Keys.insertedAt); writer.timestamp(insertedAt)
        writer.key(Keys.updatedAt); writer.timestamp(updatedAt)
        writer.endObject()
    }
}
