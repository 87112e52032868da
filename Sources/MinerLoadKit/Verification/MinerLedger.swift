import MinerIndex
import Synchronization

/// What the broker has confirmed for each miner, which is what the service must end up showing: the latest
/// confirmed log (with its `inserted_at`, since the service keeps the newest and expires by it), whether the
/// miner was upserted, and any publish that failed in a way that leaves it unknown whether the service got it.
public struct MinerLedger: Sendable {
    public enum Registration: Sendable, Hashable {
        /// Never upserted: registered by its first applied log, activated.
        case implicit
        case upserted(activated: Bool)
        /// The upsert failed after it may have reached the broker.
        case unknown(activated: Bool)
    }

    public struct LoggedState: Sendable, Hashable {
        public var insertedAt: Timestamp
        public var contribution: MinerContribution
    }

    public struct Entry: Sendable, Hashable {
        public var registration: Registration = .implicit
        public var confirmed: LoggedState?
        /// A newer log than `confirmed` whose publish failed without a definite answer.
        public var inDoubt: LoggedState?
    }

    private var entries: [MinerKind: [Entry]]

    /// `counts` include each kind's lag-probe miner, if any.
    public init(asicCount: Int, cpuGpuCount: Int) {
        entries = [
            .asic: Array(repeating: Entry(), count: asicCount),
            .cpuGpu: Array(repeating: Entry(), count: cpuGpuCount),
        ]
    }

    public func entries(of kind: MinerKind) -> [Entry] { entries[kind] ?? [] }

    public mutating func logConfirmed(_ slot: MinerSlot, _ state: LoggedState) {
        update(slot) { entry in
            if entry.confirmed.map({ $0.insertedAt < state.insertedAt }) ?? true { entry.confirmed = state }
            if let doubt = entry.inDoubt, doubt.insertedAt <= state.insertedAt { entry.inDoubt = nil }
        }
    }

    /// A nack or a lost connection: the broker may or may not have routed it.
    public mutating func logInDoubt(_ slot: MinerSlot, _ state: LoggedState) {
        update(slot) { entry in
            let newerThanConfirmed = entry.confirmed.map { $0.insertedAt < state.insertedAt } ?? true
            let newerThanDoubt = entry.inDoubt.map { $0.insertedAt < state.insertedAt } ?? true
            if newerThanConfirmed && newerThanDoubt { entry.inDoubt = state }
        }
    }

    public mutating func upserted(_ slot: MinerSlot, activated: Bool, confirmed: Bool) {
        update(slot) { $0.registration = confirmed ? .upserted(activated: activated) : .unknown(activated: activated) }
    }

    private mutating func update(_ slot: MinerSlot, _ change: (inout Entry) -> Void) {
        guard var list = entries.removeValue(forKey: slot.kind) else { return }
        if list.indices.contains(slot.index) { change(&list[slot.index]) }
        entries[slot.kind] = list
    }
}

/// The ledger shared between the sender (which books confirms from several publish tasks) and the verifier.
public final class SharedLedger: Sendable {
    private let state: Mutex<MinerLedger>

    public init(_ ledger: MinerLedger) {
        state = Mutex(ledger)
    }

    public func update(_ change: (inout MinerLedger) -> Void) {
        state.withLock { change(&$0) }
    }

    public var current: MinerLedger { state.withLock { $0 } }
}
