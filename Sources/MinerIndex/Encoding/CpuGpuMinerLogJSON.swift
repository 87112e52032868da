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
        writer.beginObject()
        writer.key(Keys.cpuGpuMinerId); writer.integer(cpuGpuMinerId)
        writer.key(Keys.cpuTemperature); writer.wholeOrDecimal(cpuTemperature)
        writer.key(Keys.cpuHashrate); writer.decimal(cpuHashrate)
        writer.key(Keys.cpuHashrateUnit); writer.string(cpuMining?.hashrateUnit.symbol)
        writer.key(Keys.cpuAlgorithm); writer.string(cpuMining?.algorithm)
        writer.key(Keys.cpuCoinName); writer.string(cpuMining?.coinName)
        writer.key(Keys.cpuPoolAddress); writer.string(cpuPoolAddress)
        writer.key(Keys.cpuWalletAddress); writer.string(cpuWalletAddress)
        writer.key(Keys.cpuPower); writer.wholeOrDecimal(cpuPower)
        for (gpu, keys) in zip(gpus, Keys.gpus) {
            writer.key(keys[0]); writer.wholeOrDecimal(gpu.coreTemperature)
            writer.key(keys[1]); writer.wholeOrDecimal(gpu.memoryTemperature)
            writer.key(keys[2]); writer.decimal(gpu.hashrate1)
            writer.key(keys[3]); writer.decimal(gpu.hashrate2)
            writer.key(keys[4]); writer.wholeOrDecimal(gpu.coreClock)
            writer.key(keys[5]); writer.wholeOrDecimal(gpu.memoryClock)
            writer.key(keys[6]); writer.wholeOrDecimal(gpu.power)
            writer.key(keys[7]); writer.wholeOrDecimal(gpu.fan)
        }
        writer.key(Keys.gpuFanUnit); writer.string(gpuFanUnit?.rawValue)
        for (slot, keys) in zip(gpuSlots, Keys.slots) {
            writer.key(keys[0]); writer.string(slot.mining?.algorithm)
            writer.key(keys[1]); writer.string(slot.mining?.hashrateUnit.symbol)
            writer.key(keys[2]); writer.string(slot.mining?.coinName)
            writer.key(keys[3]); writer.string(slot.poolAddress)
            writer.key(keys[4]); writer.string(slot.walletAddress)
        }
        writer.key(Keys.lanIp); writer.string(lanIp)
        writer.key(Keys.wanIp); writer.string(wanIp)
        writer.key(Keys.uptime); writer.string(uptime)
        writer.key(Keys.insertedAt); writer.timestamp(insertedAt)
        writer.endObject()
    }
}
