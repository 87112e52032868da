extension CpuGpuMinerLog: JSONRecord {
    private enum Keys {
        static let cpuGpuMinerId = JSONKey("cpu_gpu_miner_id")
        static let cpuTemperature = JSONKey("cpu_temp"), cpuHashrate = JSONKey("cpu_hashrate")
        static let cpuHashrateUnit = JSONKey("cpu_hashrate_uom"), cpuAlgorithm = JSONKey("cpu_algorithm")
        static let cpuCoinName = JSONKey("cpu_coin_name"), cpuPoolAddress = JSONKey("cpu_pool_address")
        static let cpuWalletAddress = JSONKey("cpu_wallet_address"), cpuPower = JSONKey("cpu_power")
        static let gpuFanUnit = JSONKey("gpu_fan_uom"), lanIp = JSONKey("lan_ip"), wanIp = JSONKey("wan_ip")
        static let uptime = JSONKey("uptime"), insertedAt = JSONKey("inserted_at")
        static let gpus = (1...CpuGpuMinerLog.gpuCount).map { gpu in
            ["core_temp", "mem_temp", "hashrate_1", "hashrate_2", "core_clock", "mem_clock", "power", "fan"]
                .map { JSONKey("gpu_\(gpu)_\($0)") }
        }
        static let slots = (1...CpuGpuMinerLog.slotCount).map { slot in
            ["algorithm", "hashrate_uom", "coin_name", "pool_address", "wallet_address"]
                .map { JSONKey("gpu_\($0)_\(slot)") }
        }
    }

    /// Every reference field, absent ones as null so dashboards see the original shape.
    public func writeJSON(to writer: inout JSONWriter) {
        var fields = RecordFields.plain
        write(&fields, to: &writer)
    }

    public func writeJSON(to writer: inout JSONWriter, fingerprint: inout [UInt64], onlyChanged: Bool) {
        var fields = RecordFields(onlyChanged: onlyChanged)
        swap(&fields.fingerprint, &fingerprint)
        write(&fields, to: &writer)
        swap(&fields.fingerprint, &fingerprint)
    }

    private func write(_ fields: inout RecordFields, to writer: inout JSONWriter) {
        writer.beginObject()
        fields.integer(Keys.cpuGpuMinerId, cpuGpuMinerId, to: &writer)
        fields.wholeOrDecimal(Keys.cpuTemperature, cpuTemperature, to: &writer)
        fields.decimal(Keys.cpuHashrate, cpuHashrate, to: &writer)
        fields.string(Keys.cpuHashrateUnit, cpuMining?.hashrateUnit.symbol, to: &writer)
        fields.string(Keys.cpuAlgorithm, cpuMining?.algorithm, to: &writer)
        fields.string(Keys.cpuCoinName, cpuMining?.coinName, to: &writer)
        fields.string(Keys.cpuPoolAddress, cpuPoolAddress, to: &writer)
        fields.string(Keys.cpuWalletAddress, cpuWalletAddress, to: &writer)
        fields.wholeOrDecimal(Keys.cpuPower, cpuPower, to: &writer)
        // Indexed rather than zipped, as for ASIC logs: no copy of each GPU and slot.
        for gpu in 0..<Self.gpuCount {
            let keys = Keys.gpus[gpu]
            fields.wholeOrDecimal(keys[0], gpus[gpu].coreTemperature, to: &writer)
            fields.wholeOrDecimal(keys[1], gpus[gpu].memoryTemperature, to: &writer)
            fields.decimal(keys[2], gpus[gpu].hashrate1, to: &writer)
            fields.decimal(keys[3], gpus[gpu].hashrate2, to: &writer)
            fields.wholeOrDecimal(keys[4], gpus[gpu].coreClock, to: &writer)
            fields.wholeOrDecimal(keys[5], gpus[gpu].memoryClock, to: &writer)
            fields.wholeOrDecimal(keys[6], gpus[gpu].power, to: &writer)
            fields.wholeOrDecimal(keys[7], gpus[gpu].fan, to: &writer)
        }
        fields.string(Keys.gpuFanUnit, gpuFanUnit?.rawValue, to: &writer)
        for slot in 0..<Self.slotCount {
            let keys = Keys.slots[slot]
            fields.string(keys[0], gpuSlots[slot].mining?.algorithm, to: &writer)
            fields.string(keys[1], gpuSlots[slot].mining?.hashrateUnit.symbol, to: &writer)
            fields.string(keys[2], gpuSlots[slot].mining?.coinName, to: &writer)
            fields.string(keys[3], gpuSlots[slot].poolAddress, to: &writer)
            fields.string(keys[4], gpuSlots[slot].walletAddress, to: &writer)
        }
        fields.string(Keys.lanIp, lanIp, to: &writer)
        fields.string(Keys.wanIp, wanIp, to: &writer)
        fields.string(Keys.uptime, uptime, to: &writer)
        fields.timestamp(Keys.insertedAt, insertedAt, to: &writer)
        writer.endObject()
    }
}
