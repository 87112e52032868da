/// One physical ASIC as registered by the farm's control app.
///
/// There is no `api_code` property: the sentry token is a secret, so it is dropped while decoding and can never
/// reach a broadcast.
public struct AsicMiner: Sendable, Hashable, Identifiable {
    public var id: Int64
    public var name: String?
    public var firmwareVersion: String?
    public var softwareVersion: String?
    public var model: String?
    public var modelVariant: String?
    public var activated: Bool
    public var asicExpectedStatus: String?
    public var lightExpectedStatus: String?
    public var insertedAt: Timestamp?
    public var updatedAt: Timestamp?

    public init(
        id: Int64, name: String? = nil, firmwareVersion: String? = nil, softwareVersion: String? = nil,
        model: String? = nil, modelVariant: String? = nil, activated: Bool = true,
        asicExpectedStatus: String? = nil, lightExpectedStatus: String? = nil,
        insertedAt: Timestamp? = nil, updatedAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.firmwareVersion = firmwareVersion
        self.softwareVersion = softwareVersion
        self.model = model
        self.modelVariant = modelVariant
        self.activated = activated
        self.asicExpectedStatus = asicExpectedStatus
        self.lightExpectedStatus = lightExpectedStatus
        self.insertedAt = insertedAt
        self.updatedAt = updatedAt
    }
}

extension AsicMiner: RegisteredMiner {
    /// Stands in for a miner known only from its logs. It counts as activated, because a miner that reports
    /// is live and must be counted in "alive n/m" for n never to exceed m.
    public static func placeholder(id: Int64) -> AsicMiner { AsicMiner(id: id) }
}
