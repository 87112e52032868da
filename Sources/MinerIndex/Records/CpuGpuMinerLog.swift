/// One report of one CPU/GPU rig. Every field but the id is optional; coin groups are all or nothing, which
/// decoding enforces and `CoinMining` makes unrepresentable in part.
public struct CpuGpuMinerLog: Sendable, Hashable {
    /// A coin being mined, with the algorithm and the unit its hashrates are reported in.
    public struct CoinMining: Sendable, Hashable {
        public var coinName: String
        public var algorithm: String
        public var hashrateUnit: HashrateUnit

        public init(coinName: String, algorithm: String, hashrateUnit: HashrateUnit) {
            self.coinName = coinName
            self.algorithm = algorithm
            self.hashrateUnit = hashrateUnit
        }
    }

    public struct Gpu: Sendable, Hashable {
        public var coreTemperature: Double?
        public var memoryTemperature: Double?
        /// In the unit of GPU mining slot 1.
        public var hashrate1: Double?
        /// In the unit of GPU mining slot 2.
        public var hashrate2: Double?
        public var coreClock: Double?
        public var memoryClock: Double?
        public var power: Double?
        /// In `gpuFanUnit`.
        public var fan: Double?

        public init(
            coreTemperature: Double? = nil, memoryTemperature: Double? = nil, hashrate1: Double? = nil,
            hashrate2: Double? = nil, coreClock: Double? = nil, memoryClock: Double? = nil,
            power: Double? = nil, fan: Double? = nil
        ) {
            self.coreTemperature = coreTemperature
            self.memoryTemperature = memoryTemperature
            self.hashrate1 = hashrate1
            self.hashrate2 = hashrate2
            self.coreClock = coreClock
            self.memoryClock = memoryClock
            self.power = power
            self.fan = fan
        }

        func hashrate(slot: Int) -> Double? { slot == 1 ? hashrate1 : hashrate2 }
    }

    /// A GPU mining slot of a dual-mining rig: the coin group plus where the shares go.
    public struct GpuSlot: Sendable, Hashable {
        public var mining: CoinMining?
        public var poolAddress: String?
        public var walletAddress: String?

        public init(mining: CoinMining? = nil, poolAddress: String? = nil, walletAddress: String? = nil) {
            self.mining = mining
            self.poolAddress = poolAddress
            self.walletAddress = walletAddress
        }
    }

    public enum FanUnit: String, Sendable, Hashable {
        case percent = "%"
        case rpm = "RPM"
    }

    public static let gpuCount = 8
    public static let slotCount = 2

    public var cpuGpuMinerId: Int64
    public var cpuTemperature: Double?
    /// In `cpuMining.hashrateUnit`; present exactly when `cpuMining` is.
    public var cpuHashrate: Double?
    public var cpuMining: CoinMining?
    public var cpuPoolAddress: String?
    public var cpuWalletAddress: String?
    public var cpuPower: Double?
    /// Always `gpuCount` entries, GPU 1 first.
    public var gpus: [Gpu]
    public var gpuFanUnit: FanUnit?
    /// Always `slotCount` entries, slot 1 first.
    public var gpuSlots: [GpuSlot]
    public var lanIp: String?
    public var wanIp: String?
    public var uptime: String?
    public var insertedAt: Timestamp?

    public init(
        cpuGpuMinerId: Int64, cpuTemperature: Double? = nil, cpuHashrate: Double? = nil,
        cpuMining: CoinMining? = nil, cpuPoolAddress: String? = nil, cpuWalletAddress: String? = nil,
        cpuPower: Double? = nil, gpus: [Gpu] = [], gpuFanUnit: FanUnit? = nil, gpuSlots: [GpuSlot] = [],
        lanIp: String? = nil, wanIp: String? = nil, uptime: String? = nil, insertedAt: Timestamp? = nil
    ) {
        self.cpuGpuMinerId = cpuGpuMinerId
        self.cpuTemperature = cpuTemperature
        self.cpuHashrate = cpuHashrate
        self.cpuMining = cpuMining
        self.cpuPoolAddress = cpuPoolAddress
        self.cpuWalletAddress = cpuWalletAddress
        self.cpuPower = cpuPower
        self.gpus = gpus.padded(to: Self.gpuCount, with: Gpu())
        self.gpuFanUnit = gpuFanUnit
        self.gpuSlots = gpuSlots.padded(to: Self.slotCount, with: GpuSlot())
        self.lanIp = lanIp
        self.wanIp = wanIp
        self.uptime = uptime
        self.insertedAt = insertedAt
    }

    /// Power of the CPU and every GPU, in watts.
    public var totalPower: Double {
        gpus.reduce(cpuPower ?? 0) { $0 + ($1.power ?? 0) }
    }

    /// What this rig adds to each coin: the CPU's hashrate, plus for each GPU slot with a coin the sum of that
    /// slot's hashrate over the GPUs. The same coin on the CPU and a GPU slot adds up (the original let the GPU
    /// figure overwrite the CPU one).
    public func forEachCoinContribution(_ body: (_ rawCoinName: String, _ hashrate: Hashrate) -> Void) {
        if let mining = cpuMining, let cpuHashrate {
            body(mining.coinName, Hashrate(cpuHashrate, mining.hashrateUnit))
        }
        for slot in 1...Self.slotCount {
            guard let mining = gpuSlots[slot - 1].mining else { continue }
            let sum = gpus.reduce(0.0) { $0 + ($1.hashrate(slot: slot) ?? 0) }
            body(mining.coinName, Hashrate(sum, mining.hashrateUnit))
        }
    }
}

extension CpuGpuMinerLog: MinerLog {
    public var minerId: Int64 { cpuGpuMinerId }

    public func forEachCoinHashrate(_ body: (_ rawCoinName: String, _ hashrate: Hashrate) -> Void) {
        forEachCoinContribution(body)
    }

    /// CPU plus every GPU.
    public var aggregatedPower: Double { totalPower }
}
