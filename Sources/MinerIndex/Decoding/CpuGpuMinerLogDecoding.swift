extension CpuGpuMinerLog {
    /// Where each key's slot is. Built once into one value that `decode` loads once: a static per slot cost a
    /// lazy-initialisation check per field read, about ninety per log.
    private struct Fields: Sendable {
        static let gpuFieldNames = [
            "core_temp", "mem_temp", "hashrate_1", "hashrate_2", "core_clock", "mem_clock", "power", "fan",
        ]
        static let slotFieldNames = ["algorithm", "hashrate_uom", "coin_name", "pool_address", "wallet_address"]
        static let layout = Fields()

        let schema = JSONObjectSchema(
            keys: [
                "cpu_gpu_miner_id", "cpu_temp", "cpu_hashrate", "cpu_hashrate_uom", "cpu_algorithm", "cpu_coin_name",
                "cpu_pool_address", "cpu_wallet_address", "cpu_power", "gpu_fan_uom", "lan_ip", "wan_ip", "uptime",
                "inserted_at",
            ] + (1...CpuGpuMinerLog.gpuCount).flatMap { gpu in gpuFieldNames.map { "gpu_\(gpu)_\($0)" } }
                + (1...CpuGpuMinerLog.slotCount).flatMap { slot in slotFieldNames.map { "gpu_\($0)_\(slot)" } })

        let cpuGpuMinerId, cpuTemperature, cpuHashrate, cpuHashrateUnit, cpuAlgorithm, cpuCoinName: Int
        let cpuPoolAddress, cpuWalletAddress, cpuPower, gpuFanUnit, lanIp, wanIp, uptime, insertedAt: Int
        /// The slot of GPU `gpu`'s first field (`gpuFieldNames` order follows); GPUs follow one another.
        let firstGpuField: Int
        /// The slot of mining slot `slot`'s first field (`slotFieldNames` order follows).
        let firstMiningSlotField: Int

        private init() {
            cpuGpuMinerId = schema.slot("cpu_gpu_miner_id")
            cpuTemperature = schema.slot("cpu_temp")
            cpuHashrate = schema.slot("cpu_hashrate")
            cpuHashrateUnit = schema.slot("cpu_hashrate_uom")
            cpuAlgorithm = schema.slot("cpu_algorithm")
            cpuCoinName = schema.slot("cpu_coin_name")
            cpuPoolAddress = schema.slot("cpu_pool_address")
            cpuWalletAddress = schema.slot("cpu_wallet_address")
            cpuPower = schema.slot("cpu_power")
            gpuFanUnit = schema.slot("gpu_fan_uom")
            lanIp = schema.slot("lan_ip")
            wanIp = schema.slot("wan_ip")
            uptime = schema.slot("uptime")
            insertedAt = schema.slot("inserted_at")
            firstGpuField = schema.firstSlot(ofGroups: CpuGpuMinerLog.gpuCount, fields: Self.gpuFieldNames) {
                "gpu_\($0)_\($1)"
            }
            firstMiningSlotField = schema.firstSlot(ofGroups: CpuGpuMinerLog.slotCount, fields: Self.slotFieldNames) {
                "gpu_\($1)_\($0)"
            }
        }

        /// GPU `gpu` (from 0), field `field` of `gpuFieldNames`.
        func gpuField(_ gpu: Int, _ field: Int) -> Int { firstGpuField + gpu * Self.gpuFieldNames.count + field }

        /// Mining slot `slot` (from 0), field `field` of `slotFieldNames`.
        func miningSlotField(_ slot: Int, _ field: Int) -> Int {
            firstMiningSlotField + slot * Self.slotFieldNames.count + field
        }
    }

    /// Decodes and validates one rig log. Only the id is required; the CPU coin group (coin, algorithm, hashrate,
    /// unit) and each GPU slot's group (coin, algorithm, unit) must be complete or absent.
    /// `readableAfterEnd`: bytes after the body that are allocated and may be read; with 64 or more (a delivery
    /// body's spare capacity) the body is parsed where it is.
    public static func decode(
        json body: UnsafeRawBufferPointer, limits: DecodingLimits = .init(), readableAfterEnd: Int = 0
    ) throws(RecordDecodingError) -> CpuGpuMinerLog {
        let layout = Fields.layout
        return try layout.schema.withParsedObject(body, limits: limits, readableAfterEnd: readableAfterEnd) {
            (fields) throws(RecordDecodingError) in
            let id = try fields.requiredIdentifier(layout.cpuGpuMinerId)

            try fields.requireWholeGroup(
                layout.cpuCoinName, layout.cpuAlgorithm, layout.cpuHashrate,
                layout.cpuHashrateUnit)
            let cpuHashrate = try fields.measure(layout.cpuHashrate)
            var cpuMining: CoinMining?
            if let coinName = try fields.string(layout.cpuCoinName),
                let algorithm = try fields.string(layout.cpuAlgorithm),
                let unit = try fields.hashrateUnit(layout.cpuHashrateUnit)
            {
                cpuMining = CoinMining(coinName: coinName, algorithm: algorithm, hashrateUnit: unit)
                try requireFiniteHashesPerSecond(cpuHashrate ?? 0, unit, field: fields.key(layout.cpuHashrate))
            }

            var gpus: [Gpu] = []
            gpus.reserveCapacity(gpuCount)
            for gpu in 0..<gpuCount {
                gpus.append(
                    Gpu(
                        coreTemperature: try fields.measure(layout.gpuField(gpu, 0)),
                        memoryTemperature: try fields.measure(layout.gpuField(gpu, 1)),
                        hashrate1: try fields.measure(layout.gpuField(gpu, 2)),
                        hashrate2: try fields.measure(layout.gpuField(gpu, 3)),
                        coreClock: try fields.measure(layout.gpuField(gpu, 4)),
                        memoryClock: try fields.measure(layout.gpuField(gpu, 5)),
                        power: try fields.measure(layout.gpuField(gpu, 6)),
                        fan: try fields.measure(layout.gpuField(gpu, 7))))
            }

            var gpuSlots: [GpuSlot] = []
            gpuSlots.reserveCapacity(slotCount)
            for index in 0..<slotCount {
                let algorithmSlot = layout.miningSlotField(index, 0), unitSlot = layout.miningSlotField(index, 1)
                let coinSlot = layout.miningSlotField(index, 2)
                try fields.requireWholeGroup(coinSlot, algorithmSlot, unitSlot)
                var mining: CoinMining?
                if let coinName = try fields.string(coinSlot), let algorithm = try fields.string(algorithmSlot),
                    let unit = try fields.hashrateUnit(unitSlot)
                {
                    mining = CoinMining(coinName: coinName, algorithm: algorithm, hashrateUnit: unit)
                    let slotSum = gpus.reduce(0.0) { $0 + ($1.hashrate(slot: index + 1) ?? 0) }
                    try requireFiniteHashesPerSecond(slotSum, unit, field: "gpu_n_hashrate_\(index + 1)")
                }
                gpuSlots.append(
                    GpuSlot(
                        mining: mining, poolAddress: try fields.string(layout.miningSlotField(index, 3)),
                        walletAddress: try fields.string(layout.miningSlotField(index, 4))))
            }

            var fanUnit: FanUnit?
            if let bytes = try fields.stringBytes(layout.gpuFanUnit) {
                fanUnit = parseFanUnit(bytes)
                guard fanUnit != nil else {
                    throw RecordDecodingError(
                        field: fields.key(layout.gpuFanUnit),
                        problem: .unknownFanUnit(String(decoding: bytes, as: UTF8.self)))
                }
            }

            return CpuGpuMinerLog(
                cpuGpuMinerId: id,
                cpuTemperature: try fields.measure(layout.cpuTemperature),
                cpuHashrate: cpuMining == nil ? nil : cpuHashrate,
                cpuMining: cpuMining,
                cpuPoolAddress: try fields.string(layout.cpuPoolAddress),
                cpuWalletAddress: try fields.string(layout.cpuWalletAddress),
                cpuPower: try fields.measure(layout.cpuPower),
                gpus: gpus,
                gpuFanUnit: fanUnit,
                gpuSlots: gpuSlots,
                lanIp: try fields.string(layout.lanIp),
                wanIp: try fields.string(layout.wanIp),
                uptime: try fields.string(layout.uptime),
                insertedAt: try fields.timestamp(layout.insertedAt))
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
    /// `field` is built only for the error: interpolating a slot's name on every message cost two allocations.
    private static func requireFiniteHashesPerSecond(
        _ value: Double, _ unit: HashrateUnit, field: @autoclosure () -> String
    ) throws(RecordDecodingError) {
        guard Hashrate(value, unit).hashesPerSecond <= DecodingLimits.largestHashesPerSecond else {
            throw RecordDecodingError(
                field: field(), problem: .tooLarge(maximum: DecodingLimits.largestHashesPerSecond, unit: "H/s"))
        }
    }

    private static func parseFanUnit(_ bytes: UnsafeRawBufferPointer) -> FanUnit? {
        if bytes.count == 1, bytes[0] == UInt8(ascii: "%") { return .percent }
        if bytes.count == 3, bytes.elementsEqual("rpm".utf8, by: { $0 | 0x20 == $1 }) { return .rpm }
        return nil
    }
}
