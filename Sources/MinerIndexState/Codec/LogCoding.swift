import MinerIndex

/// A log kind the store can write in its compact binary form.
protocol StorableLog: MinerLog {
    func encodeFields(to writer: inout EntryWriter)
    static func decodeFields(minerId: Int64, insertedAt: Timestamp?, from reader: inout EntryReader)
        throws(StateDecodingError) -> Self
}

extension ObservedLog: SegmentRecord where Log: StorableLog {
    func encodeFields(to writer: inout EntryWriter) {
        writer.insertedAt(log.insertedAt, observedAt: observedAt)
        log.encodeFields(to: &writer)
    }

    static func decodeFields(minerId: Int64, observedAt: Timestamp, from reader: inout EntryReader)
        throws(StateDecodingError) -> ObservedLog<Log>
    {
        let insertedAt = try reader.insertedAt(observedAt: observedAt)
        let log = try Log.decodeFields(minerId: minerId, insertedAt: insertedAt, from: &reader)
        return ObservedLog(log: log, observedAt: observedAt)
    }
}

extension EntryWriter {
    /// Most logs are observed at their own `inserted_at`, so that case costs one byte.
    mutating func insertedAt(_ insertedAt: Timestamp?, observedAt: Timestamp) {
        switch insertedAt {
        case nil: byte(0)
        case let value? where value == observedAt: byte(1)
        case let value?:
            byte(2)
            signed(value.microsecondsSinceEpoch &- observedAt.microsecondsSinceEpoch)
        }
    }

    mutating func unit(_ unit: HashrateUnit?) { byte(unit.map { UInt8($0.rawValue + 1) } ?? 0) }
}

extension EntryReader {
    mutating func insertedAt(observedAt: Timestamp) throws(StateDecodingError) -> Timestamp? {
        switch try byte() {
        case 0: return nil
        case 1: return observedAt
        case 2:
            let (value, overflow) = observedAt.microsecondsSinceEpoch.addingReportingOverflow(try signed())
            guard !overflow else { throw StateDecodingError("inserted_at out of range") }
            return Timestamp(microsecondsSinceEpoch: value)
        case let tag: throw StateDecodingError("unknown inserted_at tag \(tag)")
        }
    }

    mutating func unit() throws(StateDecodingError) -> HashrateUnit? {
        let tag = try byte()
        guard tag > 0 else { return nil }
        guard let unit = HashrateUnit(rawValue: Int(tag) - 1) else { throw StateDecodingError("unknown unit \(tag)") }
        return unit
    }

    mutating func requiredUnit(_ field: String) throws(StateDecodingError) -> HashrateUnit {
        guard let unit = try unit() else { throw StateDecodingError("\(field) is missing") }
        return unit
    }
}

extension AsicMinerLog: StorableLog {
    func encodeFields(to writer: inout EntryWriter) {
        writer.number(hashrate5Min)
        writer.number(hashrate30Min)
        writer.unit(hashrateUnit)
        writer.number(poolRejectionRate)
        writer.ownString(uptime)
        // By index, as `Segment.encode` does: a loop variable would retain each pool's strings.
        for index in pools.indices {
            writer.sharedString(pools[index].address)
            writer.ownString(pools[index].user)
            writer.sharedString(pools[index].state)
            writer.number(pools[index].acceptedShare)
            writer.number(pools[index].rejectedShare)
        }
        for board in hashboards {
            writer.number(board.hashrate5Min)
            writer.number(board.hashrate30Min)
            writer.number(board.temperature1)
            writer.number(board.temperature2)
        }
        for fan in fanSpeeds { writer.number(fan) }
        writer.ownString(lanIp)
        writer.ownString(wanIp)
        writer.sharedString(coinName)
        writer.number(power)
    }

    static func decodeFields(minerId: Int64, insertedAt: Timestamp?, from reader: inout EntryReader)
        throws(StateDecodingError)
        -> AsicMinerLog
    {
        let hashrate5Min = try reader.requiredNumber("hashrate_5_min")
        let hashrate30Min = try reader.number()
        let unit = try reader.requiredUnit("hashrate_uom")
        let rejection = try reader.number()
        let uptime = try reader.requiredOwnString("uptime")
        var pools: [Pool] = []
        for _ in 0..<poolCount {
            pools.append(
                Pool(
                    address: try reader.sharedString(), user: try reader.ownString(),
                    state: try reader.sharedString(), acceptedShare: try reader.number(),
                    rejectedShare: try reader.number()))
        }
        var boards: [Hashboard] = []
        for _ in 0..<hashboardCount {
            boards.append(
                Hashboard(
                    hashrate5Min: try reader.number(), hashrate30Min: try reader.number(),
                    temperature1: try reader.number(), temperature2: try reader.number()))
        }
        var fans: [Double?] = []
        for _ in 0..<fanCount { fans.append(try reader.number()) }
        let lanIp = try reader.requiredOwnString("lan_ip")
        let wanIp = try reader.ownString()
        let coinName = try reader.requiredSharedString("coin_name")
        let power = try reader.requiredNumber("power")
        return AsicMinerLog(
            asicMinerId: minerId, hashrate5Min: hashrate5Min, hashrate30Min: hashrate30Min, hashrateUnit: unit,
            poolRejectionRate: rejection, uptime: uptime, pools: pools, hashboards: boards, fanSpeeds: fans,
            lanIp: lanIp, wanIp: wanIp, coinName: coinName, power: power, insertedAt: insertedAt)
    }
}

extension CpuGpuMinerLog: StorableLog {
    func encodeFields(to writer: inout EntryWriter) {
        writer.number(cpuTemperature)
        writer.number(cpuHashrate)
        writer.mining(cpuMining)
        writer.sharedString(cpuPoolAddress)
        writer.sharedString(cpuWalletAddress)
        writer.number(cpuPower)
        for gpu in gpus {
            writer.number(gpu.coreTemperature)
            writer.number(gpu.memoryTemperature)
            writer.number(gpu.hashrate1)
            writer.number(gpu.hashrate2)
            writer.number(gpu.coreClock)
            writer.number(gpu.memoryClock)
            writer.number(gpu.power)
            writer.number(gpu.fan)
        }
        writer.byte(gpuFanUnit.map { $0 == .percent ? 1 : 2 } ?? 0)
        for index in gpuSlots.indices {
            writer.mining(gpuSlots[index].mining)
            writer.sharedString(gpuSlots[index].poolAddress)
            writer.sharedString(gpuSlots[index].walletAddress)
        }
        writer.ownString(lanIp)
        writer.ownString(wanIp)
        writer.ownString(uptime)
    }

    static func decodeFields(minerId: Int64, insertedAt: Timestamp?, from reader: inout EntryReader)
        throws(StateDecodingError)
        -> CpuGpuMinerLog
    {
        let cpuTemperature = try reader.number()
        let cpuHashrate = try reader.number()
        let cpuMining = try reader.mining()
        let cpuPool = try reader.sharedString()
        let cpuWallet = try reader.sharedString()
        let cpuPower = try reader.number()
        var gpus: [Gpu] = []
        for _ in 0..<gpuCount {
            gpus.append(
                Gpu(
                    coreTemperature: try reader.number(), memoryTemperature: try reader.number(),
                    hashrate1: try reader.number(), hashrate2: try reader.number(),
                    coreClock: try reader.number(), memoryClock: try reader.number(),
                    power: try reader.number(), fan: try reader.number()))
        }
        let fanUnit: FanUnit?
        switch try reader.byte() {
        case 0: fanUnit = nil
        case 1: fanUnit = .percent
        case 2: fanUnit = .rpm
        case let tag: throw StateDecodingError("unknown fan unit \(tag)")
        }
        var slots: [GpuSlot] = []
        for _ in 0..<slotCount {
            slots.append(
                GpuSlot(
                    mining: try reader.mining(), poolAddress: try reader.sharedString(),
                    walletAddress: try reader.sharedString()))
        }
        return CpuGpuMinerLog(
            cpuGpuMinerId: minerId, cpuTemperature: cpuTemperature, cpuHashrate: cpuHashrate, cpuMining: cpuMining,
            cpuPoolAddress: cpuPool, cpuWalletAddress: cpuWallet, cpuPower: cpuPower, gpus: gpus,
            gpuFanUnit: fanUnit, gpuSlots: slots, lanIp: try reader.ownString(), wanIp: try reader.ownString(),
            uptime: try reader.ownString(), insertedAt: insertedAt)
    }
}

extension EntryWriter {
    mutating func mining(_ mining: CpuGpuMinerLog.CoinMining?) {
        guard let mining else { return unit(nil) }
        unit(mining.hashrateUnit)
        sharedString(mining.coinName)
        sharedString(mining.algorithm)
    }
}

extension EntryReader {
    mutating func mining() throws(StateDecodingError) -> CpuGpuMinerLog.CoinMining? {
        guard let unit = try unit() else { return nil }
        return CpuGpuMinerLog.CoinMining(
            coinName: try requiredSharedString("coin_name"),
            algorithm: try requiredSharedString("algorithm"), hashrateUnit: unit)
    }
}

/// History entries: the entry's numbers exactly as the ring keeps them.
extension HistorySample: SegmentRecord {
    var observedAt: Timestamp { entry.observedAt }

    func encodeFields(to writer: inout EntryWriter) {
        let compact = entry.compact
        for value in [compact.hashrate5Min, compact.hashrate30Min, compact.power, compact.poolRejectionRate] {
            writer.fixed32(value.bitPattern)
        }
        for value in compact.temperatures { writer.signed(Int64(value)) }
        for value in compact.fans { writer.varint(UInt64(value)) }
        for value in compact.shares { writer.varint(UInt64(value)) }
    }

    static func decodeFields(minerId: Int64, observedAt: Timestamp, from reader: inout EntryReader)
        throws(StateDecodingError) -> HistorySample
    {
        var floats: [Float] = []
        for _ in 0..<4 { floats.append(Float(bitPattern: try reader.fixed32())) }
        var temperatures: [Int16] = []
        for _ in 0..<AsicMinerHistoryEntry.Compact.temperatureCount {
            guard let value = Int16(exactly: try reader.signed()) else {
                throw StateDecodingError("temperature out of range")
            }
            temperatures.append(value)
        }
        var fans: [UInt16] = []
        for _ in 0..<AsicMinerHistoryEntry.Compact.fanCount {
            guard let value = UInt16(exactly: try reader.varint()) else { throw StateDecodingError("fan out of range") }
            fans.append(value)
        }
        var shares: [UInt32] = []
        for _ in 0..<AsicMinerHistoryEntry.Compact.shareCount {
            guard let value = UInt32(exactly: try reader.varint()) else {
                throw StateDecodingError("shares out of range")
            }
            shares.append(value)
        }
        let compact = AsicMinerHistoryEntry.Compact(
            hashrate5Min: floats[0], hashrate30Min: floats[1], power: floats[2], poolRejectionRate: floats[3],
            temperatures: temperatures, fans: fans, shares: shares)
        return HistorySample(minerId: minerId, entry: AsicMinerHistoryEntry(observedAt: observedAt, compact: compact))
    }
}
