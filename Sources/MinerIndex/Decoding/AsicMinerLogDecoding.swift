extension AsicMinerLog {
    /// Slots of the keys an ASIC log is read from; `api_code` is deliberately not among them.
    private enum Fields {
        static let schema = JSONObjectSchema(keys: [
            "asic_miner_id", "hashrate_5_min", "hashrate_30_min", "hashrate_uom", "pool_rejection_rate", "uptime",
            "lan_ip", "wan_ip", "coin_name", "power", "inserted_at",
        ] + (1...AsicMinerLog.poolCount).flatMap { pool in
            ["address", "user", "state", "accepted_share", "rejected_share"].map { "pool_\(pool)_\($0)" }
        } + (1...AsicMinerLog.hashboardCount).flatMap { board in
            ["hashrate_5_min", "hashrate_30_min", "temp_1", "temp_2"].map { "hashboard_\(board)_\($0)" }
        } + (1...AsicMinerLog.fanCount).map { "fan_\($0)_speed" })

        static let asicMinerId = schema.slot("asic_miner_id")
        static let hashrate5Min = schema.slot("hashrate_5_min")
        static let hashrate30Min = schema.slot("hashrate_30_min")
        static let hashrateUnit = schema.slot("hashrate_uom")
        static let poolRejectionRate = schema.slot("pool_rejection_rate")
        static let uptime = schema.slot("uptime")
        static let lanIp = schema.slot("lan_ip")
        static let wanIp = schema.slot("wan_ip")
        static let coinName = schema.slot("coin_name")
        static let power = schema.slot("power")
        static let insertedAt = schema.slot("inserted_at")
        static let pools = (1...AsicMinerLog.poolCount).map { pool in
            PoolSlots(address: schema.slot("pool_\(pool)_address"), user: schema.slot("pool_\(pool)_user"),
                      state: schema.slot("pool_\(pool)_state"),
                      acceptedShare: schema.slot("pool_\(pool)_accepted_share"),
                      rejectedShare: schema.slot("pool_\(pool)_rejected_share"))
        }
        static let hashboards = (1...AsicMinerLog.hashboardCount).map { board in
            HashboardSlots(hashrate5Min: schema.slot("hashboard_\(board)_hashrate_5_min"),
                           hashrate30Min: schema.slot("hashboard_\(board)_hashrate_30_min"),
                           temperature1: schema.slot("hashboard_\(board)_temp_1"),
                           temperature2: schema.slot("hashboard_\(board)_temp_2"))
        }
        static let fans = (1...AsicMinerLog.fanCount).map { schema.slot("fan_\($0)_speed") }
    }

    private struct PoolSlots {
        let address, user, state, acceptedShare, rejectedShare: Int
    }

    private struct HashboardSlots {
        let hashrate5Min, hashrate30Min, temperature1, temperature2: Int
    }

    /// Decodes and validates one log body. Required: the id, 5-minute hashrate, unit, uptime, pool 1 address,
    /// user and state, hashboard 1 temperature 1, fan 1, LAN IP, coin name and power.
    public static func decode(
        json body: UnsafeRawBufferPointer, limits: DecodingLimits = .init()
    ) throws(RecordDecodingError) -> AsicMinerLog {
        try Fields.schema.withParsedObject(body, limits: limits) { (fields) throws(RecordDecodingError) in
            var pools: [Pool] = []
            pools.reserveCapacity(poolCount)
            for (index, slots) in Fields.pools.enumerated() {
                let isFirst = index == 0
                pools.append(Pool(
                    address: isFirst ? try fields.requiredString(slots.address)
                        : try fields.string(slots.address),
                    user: isFirst ? try fields.requiredString(slots.user) : try fields.string(slots.user),
                    state: isFirst ? try fields.requiredString(slots.state) : try fields.string(slots.state),
                    acceptedShare: try fields.measure(slots.acceptedShare),
                    rejectedShare: try fields.measure(slots.rejectedShare)))
            }
            var hashboards: [Hashboard] = []
            hashboards.reserveCapacity(hashboardCount)
            for (index, slots) in Fields.hashboards.enumerated() {
                hashboards.append(Hashboard(
                    hashrate5Min: try fields.measure(slots.hashrate5Min),
                    hashrate30Min: try fields.measure(slots.hashrate30Min),
                    temperature1: index == 0 ? try fields.requiredMeasure(slots.temperature1)
                        : try fields.measure(slots.temperature1),
                    temperature2: try fields.measure(slots.temperature2)))
            }
            var fans: [Double?] = []
            fans.reserveCapacity(fanCount)
            for (index, slot) in Fields.fans.enumerated() {
                fans.append(index == 0 ? try fields.requiredMeasure(slot) : try fields.measure(slot))
            }
            let unit = try fields.requiredHashrateUnit(Fields.hashrateUnit)
            let hashrate5Min = try fields.requiredMeasure(Fields.hashrate5Min)
            // A bounded figure in PH/s can still be out of bounds once converted to H/s, and the sums must stay
            // finite.
            guard Hashrate(hashrate5Min, unit).hashesPerSecond <= DecodingLimits.largestHashesPerSecond else {
                throw RecordDecodingError(
                    field: fields.key(Fields.hashrate5Min),
                    problem: .tooLarge(maximum: DecodingLimits.largestHashesPerSecond, unit: "H/s"))
            }
            return AsicMinerLog(
                asicMinerId: try fields.requiredIdentifier(Fields.asicMinerId),
                hashrate5Min: hashrate5Min,
                hashrate30Min: try fields.measure(Fields.hashrate30Min),
                hashrateUnit: unit,
                poolRejectionRate: try fields.measure(Fields.poolRejectionRate),
                uptime: try fields.requiredString(Fields.uptime),
                pools: pools,
                hashboards: hashboards,
                fanSpeeds: fans,
                lanIp: try fields.requiredString(Fields.lanIp),
                wanIp: try fields.string(Fields.wanIp),
                coinName: try fields.requiredString(Fields.coinName),
                power: try fields.requiredMeasure(Fields.power),
                insertedAt: try fields.timestamp(Fields.insertedAt))
        }
    }

    public static func decode(json body: [UInt8], limits: DecodingLimits = .init())
        throws(RecordDecodingError) -> AsicMinerLog
    {
        try withBody(body, limits: limits) { (buffer) throws(RecordDecodingError) in
            try decode(json: buffer, limits: limits)
        }
    }
}

/// Applies the size limit before anything looks inside the body, then lends its bytes.
func withBody<Result>(
    _ body: [UInt8], limits: DecodingLimits,
    _ read: (UnsafeRawBufferPointer) throws(RecordDecodingError) -> Result
) throws(RecordDecodingError) -> Result {
    guard body.count <= limits.maxBodyBytes else {
        throw RecordDecodingError(field: "body", problem: .bodyTooLarge(size: body.count, limit: limits.maxBodyBytes))
    }
    guard !body.isEmpty else { throw RecordDecodingError(field: "body", problem: .invalidJSON) }
    // `withUnsafeBytes` only rethrows untyped errors, so the typed error travels out inside a Result.
    let outcome: Swift.Result<Result, RecordDecodingError> = body.withUnsafeBytes { buffer in
        do throws(RecordDecodingError) {
            return .success(try read(buffer))
        } catch {
            return .failure(error)
        }
    }
    return try outcome.get()
}
