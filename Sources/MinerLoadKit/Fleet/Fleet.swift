import MinerIndex

/// Where a miner sits in the fleet: its kind and its position among that kind (id = position + 1).
public struct MinerSlot: Sendable, Hashable {
    public var kind: MinerKind
    public var index: Int

    public init(kind: MinerKind, index: Int) {
        self.kind = kind
        self.index = index
    }

    public var id: Int64 { Int64(index) + 1 }
}

/// What one send slot carries.
public enum FleetMessage: Sendable {
    case log(MinerSlot, GeneratedLog, insertedAt: Timestamp)
    case malformed(MinerSlot, MalformedMessage, routingKey: String, body: [UInt8])
    /// A churning miner's turn while it is silent: nothing is sent.
    case silent(MinerSlot)
}

/// The simulated fleet: every miner's profile, and the order in which their reports take turns. Each miner gets
/// one turn per round, and the rounds are spread evenly over the report interval by the pacer, so reports are
/// never sent in bursts. Deterministic for a seed, apart from the timestamps.
public struct Fleet: Sendable {
    public let asicCount: Int
    public let cpuGpuCount: Int
    private var asicMiners: [AsicMinerProfile]
    private var rigs: [CpuGpuRigProfile]
    private let order: [MinerSlot]
    private var cursor = 0
    private var lastInsertedAt: [MinerKind: [Int64]]
    private let churn: ChurnPlan?
    private let badFraction: Double
    private var random: SeededGenerator

    public init(
        asicCount: Int, cpuGpuCount: Int, seed: UInt64, churn: LoadConfiguration.Churn? = nil,
        badFraction: Double = 0, deactivatedFraction: Double = 0
    ) {
        self.asicCount = asicCount
        self.cpuGpuCount = cpuGpuCount
        asicMiners = (0..<asicCount).map {
            AsicMinerProfile(id: Int64($0) + 1, seed: seed, deactivatedFraction: deactivatedFraction)
        }
        rigs = (0..<cpuGpuCount).map {
            CpuGpuRigProfile(id: Int64($0) + 1, seed: seed, deactivatedFraction: deactivatedFraction)
        }
        var random = SeededGenerator(seed: seed, stream: .max)
        order = Self.interleavedOrder(asicCount: asicCount, cpuGpuCount: cpuGpuCount, random: &random)
        lastInsertedAt = [
            .asic: Array(repeating: .min, count: asicCount), .cpuGpu: Array(repeating: .min, count: cpuGpuCount),
        ]
        self.churn = churn.map { ChurnPlan(configuration: $0, seed: seed) }
        self.badFraction = badFraction
        self.random = random
    }

    public var minerCount: Int { asicCount + cpuGpuCount }

    public func count(of kind: MinerKind) -> Int { kind == .asic ? asicCount : cpuGpuCount }

    /// Both kinds mixed evenly through a round, in a shuffled order so ids do not report in sequence.
    private static func interleavedOrder(asicCount: Int, cpuGpuCount: Int, random: inout SeededGenerator) -> [MinerSlot]
    {
        var asicIndexes = Array(0..<asicCount)
        var rigIndexes = Array(0..<cpuGpuCount)
        shuffle(&asicIndexes, random: &random)
        shuffle(&rigIndexes, random: &random)
        let total = asicCount + cpuGpuCount
        var order: [MinerSlot] = []
        order.reserveCapacity(total)
        var asicTaken = 0, rigTaken = 0
        for position in 0..<total {
            // Bresenham: the ASIC share of the first `position + 1` turns, rounded, decides the kind.
            let asicDue = (position + 1) * asicCount / max(total, 1)
            if asicTaken < asicDue || rigTaken == cpuGpuCount {
                order.append(MinerSlot(kind: .asic, index: asicIndexes[asicTaken]))
                asicTaken += 1
            } else {
                order.append(MinerSlot(kind: .cpuGpu, index: rigIndexes[rigTaken]))
                rigTaken += 1
            }
        }
        return order
    }

    private static func shuffle(_ values: inout [Int], random: inout SeededGenerator) {
        guard values.count > 1 else { return }
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, random.integer(in: 0...index))
        }
    }

    /// The next turn in the round.
    public mutating func next(now: Timestamp, elapsedSeconds: Double) -> FleetMessage {
        let slot = order[cursor]
        cursor = (cursor + 1) % order.count
        if let churn, churn.isSilent(kind: slot.kind, index: slot.index, elapsedSeconds: elapsedSeconds) {
            return .silent(slot)
        }
        let insertedAt = monotonicTime(now, for: slot)
        let log = self.log(for: slot, at: insertedAt, elapsedSeconds: elapsedSeconds)
        if badFraction > 0, random.chance(badFraction) {
            let defect = random.pick(MalformedMessage.allCases)
            let (routingKey, body) = defect.spoil(log.body, kind: slot.kind)
            return .malformed(slot, defect, routingKey: routingKey, body: body)
        }
        return .log(slot, log, insertedAt: insertedAt)
    }

    public mutating func log(for slot: MinerSlot, at time: Timestamp, elapsedSeconds: Double) -> GeneratedLog {
        switch slot.kind {
        case .asic: return asicMiners[slot.index].log(at: time, elapsedSeconds: elapsedSeconds)
        case .cpuGpu: return rigs[slot.index].log(at: time, elapsedSeconds: elapsedSeconds)
        }
    }

    public func upsertBody(for slot: MinerSlot, at time: Timestamp) -> [UInt8] {
        switch slot.kind {
        case .asic: return asicMiners[slot.index].upsertBody(at: time)
        case .cpuGpu: return rigs[slot.index].upsertBody(at: time)
        }
    }

    public func isActivated(_ slot: MinerSlot) -> Bool {
        switch slot.kind {
        case .asic: return asicMiners[slot.index].activated
        case .cpuGpu: return rigs[slot.index].activated
        }
    }

    public func churns(_ slot: MinerSlot) -> Bool {
        churn?.churns(kind: slot.kind, index: slot.index) ?? false
    }

    /// The service ignores a log older than the one it holds, so a miner's logs must carry strictly increasing
    /// times even when the whole fleet cycles within one microsecond's resolution.
    private mutating func monotonicTime(_ now: Timestamp, for slot: MinerSlot) -> Timestamp {
        let previous = lastInsertedAt[slot.kind]?[slot.index] ?? .min
        let time = max(now.microsecondsSinceEpoch, previous &+ 1)
        lastInsertedAt[slot.kind]?[slot.index] = time
        return Timestamp(microsecondsSinceEpoch: time)
    }
}
