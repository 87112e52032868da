extension CpuGpuMinerLog {
    private enum Fields {
        static let gpuFieldNames = [
            "core_temp", "mem_temp", "hashrate_1", "hashrate_2", "core_clock", "mem_clock", "power", "fan",
        ]
        static let slotFieldNames = ["algorithm", "hashrate_uom", "coin_name", "pool_address", "wallet_address"]

        static let schema = JSONObjectSchema(keys: [
            "cpu_gpu_miner_id", "cpu_temp", "cpu_hashrate", "cpu_hashrate_uom", "cpu_algorithm", "cpu_coin_name",
            "cpu_pool_address", "cpu_wallet_address", "cpu_power", "gpu_fan_uom", "lan_ip", "wan_ip", "uptime",
            "inserted_at",
        ] + (1...CpuGpuMinerLog.gpuCount).flatMap { gpu in gpuFieldNames.map { "gpu_\(gpu)_\($0)" } }
          + (1...CpuGpuMinerLog.slotCount).flatMap { slot in slotFieldNames.map { "gpu_\($0)_\(slot)" } })

        static let cpuGpuMinerId = schema.slot("cpu_gpu_miner_id")
        static let cpuTemperature = schema.slot("cpu_temp")
        static let cpuHashrate = schema.slot("cpu_hashrate")
        static let cpuHashrateUnit = schema.slot("cpu_hashrate_uom")
        static let cpuAlgorithm = schema.slot("cpu_algorithm")
        static let cpuCoinName = schema.slot("cpu_coin_name")
        static let cpuPoolAddress = schema.slot("cpu_pool_address")
        static let cpuWalletAddress = schema.slot("cpu_wallet_address")
        static let cpuPower = schema.slot("cpu_power")
        static let gpuFanUnit = schema.slot("gpu_fan_uom")
        static let lanIp = schema.slot("lan_ip")
        static let wanIp = schema.slot("wan_ip")
        static let uptime = schema.slot("uptime")
        static let insertedAt = schema.slot("inserted_at")
        /// Per GPU, the slots in the order of `gpuFieldNames`.
        static let gpus = (1...CpuGpuMinerLog.gpuCount).map { gpu in
            gpuFieldNames.map { schema.slot("gpu_\(gpu)_\($0)") }
        }
        /// Per mining slot, the slots in the order of `slotFieldNames`.
        static let miningSlots = (1...CpuGpuMinerLog.slotCount).map { slot in
            slotFieldNames.map { schema.slot("gpu_\($0)_\(slot)") }
        }
        /// All-or-nothing groups, built once rather than per message.
        static let cpuCoinGroup = [cpuCoinName, cpuAlgorithm, cpuHashrate, cpuHashrateUnit]
        static let miningSlotCoinGroups = miningSlots.map { slots in [slots[2], slots[0], slots[1]] }
    }

    /// Decodes and validates one rig log. Only the id is required; the CPU coin group (coin, algorithm, hashrate,
    /// unit) and each GPU slot's group (coin, algorithm, unit) must be complete or absent.
    public static func decode(
        json body: UnsafeRawBufferPointer, limits: DecodingLimits = .init()
    ) throws(RecordDecodingError) -> CpuGpuMinerLog {
        try Fields.schema.withParsedObject(body, limits: limits) { (fields) throws(RecordDecodingError) in
            let id = try fields.requiredIdentifier(Fields.cpuGpuMinerId)

            try fields.requireWholeGroup(Fields.cpuCoinGroup)
            let cpuHashrate = try fields.measure(Fields.cpuHashrate)
            var cpuMining: CoinMining?
            if let coinName = try fields.string(Fields.cpuCoinName),
               let algorithm = try fields.string(Fields.cpuAlgorithm),
               let unit = try fields.hashrateUnit(Fields.cpuHashrateUnit) {
                cpuMining = CoinMining(coinName: coinName, algorithm: algorithm, hashrateUnit: unit)
                try requireFiniteHashesPerSecond(cpuHashrate ?? 0, unit, field: fields.key(Fields.cpuHashrate))
            }

            var gpus: [Gpu] = []
            gpus.reserveCapacity(gpuCount)
            for slots in Fields.gpus {
                gpus.append(Gpu(
                    coreTemperature: try fields.measure(slots[0]), memoryTemperature: try fields.measure(slots[1]),
                    hashrate1: try fields.measure(slots[2]), hashrate2: try fields.measure(slots[3]),
                    coreClock: try fields.measure(slots[4]), memoryClock: try fields.measure(slots[5]),
                    power: try fields.measure(slots[6]), fan: try fields.measure(slots[7])))
            }

            var gpuSlots: [GpuSlot] = []
            gpuSlots.reserveCapacity(slotCount)
            for (index, slots) in Fields.miningSlots.enumerated() {
                let algorithmSlot = slots[0], unitSlot = slots[1], coinSlot = slots[2]
                try fields.requireWholeGroup(Fields.miningSlotCoinGroups[index])
                var mining: CoinMining?
                if let coinName = try fields.string(coinSlot), let algorithm = try fields.string(algorithmSlot),
                   let unit = try fields.hashrateUnit(unitSlot) {
                    mining = CoinMining(coinName: coinName, algorithm: algorithm, hashrateUnit: unit)
                    let slotSum = gpus.reduce(0.0) { $0 + ($1.hashrate(slot: index + 1) ?? 0) }
                    try requireFiniteHashesPerSecond(slotSum, unit, field: "gpu_n_hashrate_\(index + 1)")
                }
                gpuSlots.append(GpuSlot(mining: mining, poolAddress: try fields.string(slots[3]),
                                        walletAddress: try fields.string(slots[4])))
            }

            var fanUnit: FanUnit?
            if let bytes = try fields.stringBytes(Fields.gpuFanUnit) {
                fanUnit = parseFanUnit(bytes)
                guard fanUnit != nil else {
                    throw RecordDecodingError(field: fields.key(Fields.gpuFanUnit),
                                              problem: .unknownFanUnit(String(decoding: bytes, as: UTF8.self)))
                }
            }

            return CpuGpuMinerLog(
                cpuGpuMinerId: id,
                cpuTemperature: try fields.measure(Fields.cpuTemperature),
                cpuHashrate: cpuMining == nil ? nil : cpuHashrate,
                cpuMining: cpuMining,
                cpuPoolAddress: try fields.string(Fields.cpuPoolAddress),
                cpuWalletAddress: try fields.string(Fields.cpuWalletAddress),
                cpuPower: try fields.measure(Fields.cpuPower),
                gpus: gpus,
                gpuFanUnit: fanUnit,
                gpuSlots: gpuSlots,
                lanIp: try fields.string(Fields.lanIp),
                wanIp: try fields.string(Fields.wanIp),
                uptime: try fields.string(Fields.uptime),
                insertedAt: try fields.timestamp(Fields.insertedAt))
        }
    }

    public static func decode(json body: [UInt8], limits: DecodingLimits = .init())
        throws(RecordDecodingError) -> CpuGpuMinerLog
    {
        try withBody(body, limits: limits) { (buffer) throws(RecordDecodingError) in
            try decode(json: buffer, limits: limits)
        }
    }

    /// A bounded figure in PH/s can still be out of bounds once converted to H/s, and the sums must stay finite.
    private static func requireFiniteHashesPerSecond(
        _ value: Double, _ unit: HashrateUnit, field: String
    ) throws(RecordDecodingError) {
        guard Hashrate(value, unit).hashesPerSecond <= DecodingLimits.largestHashesPerSecond else {
            throw RecordDecodingError(
                field: field, problem: .tooLarge(maximum: DecodingLimits.largestHashesPerSecond, unit: "H/s"))
        }
    }

    private static func parseFanUnit(_ bytes: UnsafeRawBufferPointer) -> FanUnit? {
        if bytes.count == 1, bytes[0] == UInt8(ascii: "%") { return .percent }
        if bytes.count == 3, bytes.elementsEqual("rpm".utf8, by: { $0 | 0x20 == $1 }) { return .rpm }
        return nil
    }
}
