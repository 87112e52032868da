extension AsicMinerLog {
    /// Slots of the keys an ASIC log is read from; `api_code` is deliberately not among them. Built once into one
    /// value that `decode` loads once: a static per slot cost a lazy-initialisation check per field read.
    private struct Fields: Sendable {
        static let poolFieldNames = ["address", "user", "state", "accepted_share", "rejected_share"]
        static let hashboardFieldNames = ["hashrate_5_min", "hashrate_30_min", "temp_1", "temp_2"]
        static let layout = Fields()

        let schema = JSONObjectSchema(
            keys: [
                "asic_miner_id", "hashrate_5_min", "hashrate_30_min", "hashrate_uom", "pool_rejection_rate", "uptime",
                "lan_ip", "wan_ip", "coin_name", "power", "inserted_at",
            ] + (1...AsicMinerLog.poolCount).flatMap { pool in poolFieldNames.map { "pool_\(pool)_\($0)" } }
                + (1...AsicMinerLog.hashboardCount).flatMap { board in
                    hashboardFieldNames.map { "hashboard_\(board)_\($0)" }
                }
                + (1...AsicMinerLog.fanCount).map { "fan_\($0)_speed" })

        let asicMinerId, hashrate5Min, hashrate30Min, hashrateUnit, poolRejectionRate, uptime: Int
        let lanIp, wanIp, coinName, power, insertedAt: Int
        let firstPoolField, firstHashboardField, firstFan: Int

        private init() {
            asicMinerId = schema.slot("asic_miner_id")
            hashrate5Min = schema.slot("hashrate_5_min")
            hashrate30Min = schema.slot("hashrate_30_min")
            hashrateUnit = schema.slot("hashrate_uom")
            poolRejectionRate = schema.slot("pool_rejection_rate")
            uptime = schema.slot("uptime")
            lanIp = schema.slot("lan_ip")
            wanIp = schema.slot("wan_ip")
            coinName = schema.slot("coin_name")
            power = schema.slot("power")
            insertedAt = schema.slot("inserted_at")
            firstPoolField = schema.firstSlot(ofGroups: AsicMinerLog.poolCount, fields: Self.poolFieldNames) {
                "pool_\($0)_\($1)"
            }
            firstHashboardField = schema.firstSlot(
                ofGroups: AsicMinerLog.hashboardCount, fields: Self.hashboardFieldNames
            ) { "hashboard_\($0)_\($1)" }
            firstFan = schema.firstSlot(ofGroups: AsicMinerLog.fanCount, fields: ["speed"]) { "fan_\($0)_\($1)" }
        }

        /// Pool `pool` (from 0): address, user, state, accepted share, rejected share.
        func poolField(_ pool: Int, _ field: Int) -> Int { firstPoolField + pool * Self.poolFieldNames.count + field }

        /// Hashboard `board` (from 0): 5-minute hashrate, 30-minute hashrate, temperature 1, temperature 2.
        func hashboardField(_ board: Int, _ field: Int) -> Int {
            firstHashboardField + board * Self.hashboardFieldNames.count + field
        }
    }

    /// Decodes and validates one log body. Required: the id, 5-minute hashrate, unit, uptime, pool 1 address,
    /// user and state, hashboard 1 temperature 1, fan 1, LAN IP, coin name and power.
    /// `readableAfterEnd`: bytes after the body that are allocated and may be read; with 64 or more (a delivery
    /// body's spare capacity) the body is parsed where it is.
    public static func decode(
        json body: UnsafeRawBufferPointer, limits: DecodingLimits = .init(), readableAfterEnd: Int = 0
    ) throws(RecordDecodingError) -> AsicMinerLog {
        let layout = Fields.layout
        return try layout.schema.withParsedObject(body, limits: limits, readableAfterEnd: readableAfterEnd) {
            (fields) throws(RecordDecodingError) in
            var pools: [Pool] = []
            pools.reserveCapacity(poolCount)
            for index in 0..<poolCount {
                let isFirst = index == 0
                let address = layout.poolField(index, 0), user = layout.poolField(index, 1)
                let state = layout.poolField(index, 2)
                pools.append(
                    Pool(
                        address: isFirst ? try fields.requiredString(address) : try fields.string(address),
                        user: isFirst ? try fields.requiredString(user) : try fields.string(user),
                        state: isFirst ? try fields.requiredString(state) : try fields.string(state),
                        acceptedShare: try fields.measure(layout.poolField(index, 3)),
                        rejectedShare: try fields.measure(layout.poolField(index, 4))))
            }
            var hashboards: [Hashboard] = []
            hashboards.reserveCapacity(hashboardCount)
            for index in 0..<hashboardCount {
                let temperature1 = layout.hashboardField(index, 2)
                hashboards.append(
                    Hashboard(
                        hashrate5Min: try fields.measure(layout.hashboardField(index, 0)),
                        hashrate30Min: try fields.measure(layout.hashboardField(index, 1)),
                        temperature1: index == 0
                            ? try fields.requiredMeasure(temperature1)
                            : try fields.measure(temperature1),
                        temperature2: try fields.measure(layout.hashboardField(index, 3))))
            }
            var fans: [Double?] = []
            fans.reserveCapacity(fanCount)
            for index in 0..<fanCount {
                let slot = layout.firstFan + index
                fans.append(index == 0 ? try fields.requiredMeasure(slot) : try fields.measure(slot))
            }
            let unit = try fields.requiredHashrateUnit(layout.hashrateUnit)
            let hashrate5Min = try fields.requiredMeasure(layout.hashrate5Min)
            // A bounded figure in PH/s can still be out of bounds once converted to H/s, and the sums must stay
            // finite.
            guard Hashrate(hashrate5Min, unit).hashesPerSecond <= DecodingLimits.largestHashesPerSecond else {
                throw RecordDecodingError(
                    field: fields.key(layout.hashrate5Min),
                    problem: .tooLarge(maximum: DecodingLimits.largestHashesPerSecond, unit: "H/s"))
            }
            return AsicMinerLog(
                asicMinerId: try fields.requiredIdentifier(layout.asicMinerId),
                hashrate5Min: hashrate5Min,
                hashrate30Min: try fields.measure(layout.hashrate30Min),
                hashrateUnit: unit,
                poolRejectionRate: try fields.measure(layout.poolRejectionRate),
                uptime: try fields.requiredString(layout.uptime),
                pools: pools,
                hashboards: hashboards,
                fanSpeeds: fans,
                lanIp: try fields.requiredString(layout.lanIp),
                wanIp: try fields.string(layout.wanIp),
                coinName: try fields.requiredString(layout.coinName),
                power: try fields.requiredMeasure(layout.power),
                insertedAt: try fields.timestamp(layout.insertedAt))
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
