import Backoff
import Foundation
import Logging
import MinerIndex
import Synchronization

/// How long the store keeps what, derived from the service's settings.
public struct RetentionPolicy: Sendable {
    /// A log observed longer ago than this is offline: a restart does not need it.
    public var offlineAfter: Duration
    /// History entries older than this have aged out of every ring.
    public var historyMaxAge: Duration
    /// Deleted miners are remembered this long, so a standby that was away can still learn of the delete.
    public var tombstoneRetention: Duration

    public init(offlineAfter: Duration, historyMaxAge: Duration, tombstoneRetention: Duration = .seconds(86_400)) {
        self.offlineAfter = offlineAfter
        self.historyMaxAge = historyMaxAge
        self.tombstoneRetention = tombstoneRetention
    }
}

/// Which log segment holds each miner's latest entry, and how many latest entries each segment still holds, so a
/// segment can be dropped as soon as every miner in it has been written again instead of waiting for it to age
/// out. Only segments this tracking knows of are dropped early; the others age out.
public struct SegmentTracking: Sendable {
    var segmentOfMiner: [MinerKind: [Int64: Int64]] = [:]
    var liveEntries: [Int64: Int] = [:]
    var newestObservedAt: [Int64: Timestamp] = [:]

    public init() {}

    /// Records a segment written (or read back) holding the latest entries of `minerIds`; returns the segments
    /// left with no latest entry.
    mutating func record(segment change: Int64, kind: MinerKind, minerIds: [Int64], newestObservedAt newest: Timestamp)
        -> [Int64]
    {
        var emptied: [Int64] = []
        // Taken out, not copied: a copy would share its storage with the stored one, and the first change would
        // then copy every miner's entry.
        var owners = segmentOfMiner.removeValue(forKey: kind) ?? [:]
        for id in minerIds {
            if let previous = owners.updateValue(change, forKey: id), previous != change,
                let count = liveEntries[previous]
            {
                if count <= 1 {
                    liveEntries[previous] = nil
                    newestObservedAt[previous] = nil
                    emptied.append(previous)
                } else {
                    liveEntries[previous] = count - 1
                }
            }
        }
        segmentOfMiner[kind] = owners
        liveEntries[change, default: 0] += minerIds.count
        newestObservedAt[change] = newest
        return emptied
    }

    /// Forgets segments that age out in the store anyway.
    mutating func forget(observedBefore cutoff: Timestamp) {
        for (change, newest) in newestObservedAt where newest < cutoff {
            newestObservedAt[change] = nil
            liveEntries[change] = nil
        }
    }
}

/// Writes what the index actors drain to the store, in the order they drained it, one transaction at a time, and
/// retries until it succeeds.
///
/// Ordering: each actor numbers its drains, and a drain is written only after every lower-numbered one of the same
/// actor, whichever task handed it over first. Otherwise a checkpoint drained before a delete but handed over after
/// it could write back a registry row the delete had removed.
///
/// Failures (disk full, read-only, locked, database restarting): the writer keeps everything that was not written,
/// merges what arrives meanwhile into it (a later state of a row replaces an earlier one), and retries with backoff.
/// `health` says why meanwhile; tickets complete only once their changes are written.
public final class StateWriter: Sendable {
    public enum Health: Sendable, Equatable {
        case healthy
        case failing(reason: String)
    }

    /// Everything handed over and not yet written, merged.
    struct Pending: Sendable {
        var asicRegistry: [Int64: RegistryState<AsicMiner>] = [:]
        var asicLogs = LatestLogs<AsicMinerLog>()
        var asicHistory: [HistorySample] = []
        var cpuGpuRegistry: [Int64: RegistryState<CpuGpuMiner>] = [:]
        var cpuGpuLogs = LatestLogs<CpuGpuMinerLog>()
        var counters: [String: Int64] = [:]
        var aggregatedHistory: [String: StoredHistoryRow] = [:]
        var aggregatedHistoryCutoffs: [String: Timestamp] = [:]
        var tickets: [CommitTicket] = []

        var isEmpty: Bool { tickets.isEmpty }

        /// Adds changes that come after everything held. A delete drops the miner's held log and history: they
        /// came before it, and one transaction writes its registry rows before its segments, so a log left in the
        /// same write would read back as newer than the delete and bring the miner back.
        mutating func append(_ changes: IndexChanges<AsicMiner, AsicMinerLog>) {
            let deleted = Self.apply(changes.registry, to: &asicRegistry)
            if !deleted.isEmpty {
                asicLogs.remove(deleted)
                asicHistory.removeAll { deleted.contains($0.minerId) }
            }
            asicLogs.append(changes.logs)
            asicHistory.append(contentsOf: changes.history)
        }

        mutating func append(_ changes: IndexChanges<CpuGpuMiner, CpuGpuMinerLog>) {
            cpuGpuLogs.remove(Self.apply(changes.registry, to: &cpuGpuRegistry))
            cpuGpuLogs.append(changes.logs)
        }

        /// Adds a whole later `Pending`, by the same rule.
        mutating func append(_ later: Pending) {
            append(
                IndexChanges(
                    drainNumber: 0, registry: later.asicRegistry.map { RegistryChange(id: $0.key, state: $0.value) },
                    logs: later.asicLogs.latest, history: later.asicHistory))
            append(
                IndexChanges(
                    drainNumber: 0, registry: later.cpuGpuRegistry.map { RegistryChange(id: $0.key, state: $0.value) },
                    logs: later.cpuGpuLogs.latest))
            counters.merge(later.counters) { max($0, $1) }
            aggregatedHistory.merge(later.aggregatedHistory) { $1 }
            aggregatedHistoryCutoffs.merge(later.aggregatedHistoryCutoffs) { max($0, $1) }
            tickets.append(contentsOf: later.tickets)
        }

        /// Records registry changes and returns the ids deleted.
        private static func apply<Miner>(
            _ changes: [RegistryChange<Miner>], to registry: inout [Int64: RegistryState<Miner>]
        )
            -> Set<Int64>
        {
            var deleted: Set<Int64> = []
            for change in changes {
                registry[change.id] = change.state
                if case .deleted = change.state { deleted.insert(change.id) }
            }
            return deleted
        }
    }

    private struct State {
        var pending = Pending()
        var waitingAsic: [UInt64: IndexChanges<AsicMiner, AsicMinerLog>] = [:]
        var waitingCpuGpu: [UInt64: IndexChanges<CpuGpuMiner, CpuGpuMinerLog>] = [:]
        var waitingTickets: [MinerKind: [UInt64: CommitTicket]] = [:]
        var nextAsicDrain: UInt64 = 1
        var nextCpuGpuDrain: UInt64 = 1
        var writing = false
        var health = Health.healthy
        var wakeUp: CheckedContinuation<Void, Never>?
        var tracking: SegmentTracking
        var droppable: [Int64] = []
        /// Set when a write found another leader; nothing is written until `reset`.
        var deposed = false
        var waiters: [Awaited: [Int: CheckedContinuation<Void, Never>]] = [:]
        var nextWaiter = 0

        var isIdle: Bool { !writing && pending.isEmpty && waitingAsic.isEmpty && waitingCpuGpu.isEmpty }
    }

    public let store: any StateStore
    let retention: RetentionPolicy
    let logger: Logger
    let now: @Sendable () -> Timestamp
    private let state: Mutex<State>
    private let onHealthChange: @Sendable (Health) -> Void
    private let onWrite: @Sendable (Duration, Bool) -> Void

    public init(
        store: any StateStore, retention: RetentionPolicy, tracking: SegmentTracking = .init(), logger: Logger,
        now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) },
        onHealthChange: @escaping @Sendable (Health) -> Void = { _ in },
        onWrite: @escaping @Sendable (_ duration: Duration, _ succeeded: Bool) -> Void = { _, _ in }
    ) {
        self.onWrite = onWrite
        self.store = store
        self.retention = retention
        self.logger = logger
        self.now = now
        self.onHealthChange = onHealthChange
        state = Mutex(State(tracking: tracking))
    }

    public var health: Health { state.withLock { $0.health } }

    /// Nothing handed over is waiting or being written.
    public var isIdle: Bool { state.withLock { $0.isIdle } }

    /// Waits until a write finds that another instance leads, or the task is cancelled.
    public func waitUntilDeposed() async {
        await wait(for: .deposed)
    }

    /// What a waiter waits for; each has its waiters in `State.waiters`.
    private enum Awaited: Hashable {
        case deposed
        /// Nothing handed over is waiting or being written (a flush).
        case idle

        func holds(in state: State) -> Bool {
            switch self {
            case .deposed: state.deposed
            case .idle: state.isIdle
            }
        }
    }

    /// Returns once `awaited` holds, or the task is cancelled. Whoever makes it hold calls `wake`.
    private func wait(for awaited: Awaited) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if awaited.holds(in: state) || Task.isCancelled { return true }
                    state.waiters[awaited, default: [:]][id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters[awaited]?.removeValue(forKey: id) }?.resume()
        }
    }

    /// Wakes the waiters of `awaited` if it holds.
    private func wake(_ awaited: Awaited) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard awaited.holds(in: state) else { return [] }
            defer { state.waiters[awaited] = nil }
            return Array(state.waiters[awaited, default: [:]].values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Forgets everything not yet written and any deposition, for an instance that steps down to follow a new
    /// leader: its unwritten changes belong to commands the broker will redeliver to that leader.
    public func reset() {
        state.withLock { state in
            state.pending = Pending()
            state.droppable = []
            state.deposed = false
            state.tracking = SegmentTracking()
        }
        setHealth(.healthy)
        wake(.idle)
    }

    /// Segments found superseded at restore: dropped with the next write.
    public func dropLater(_ segments: [Int64]) {
        state.withLock { $0.droppable += segments }
    }

    // MARK: Handing over

    @discardableResult
    public func submit(_ changes: IndexChanges<AsicMiner, AsicMinerLog>) -> CommitTicket {
        let ticket = CommitTicket()
        state.withLock { state in
            state.waitingAsic[changes.drainNumber] = changes
            state.waitingTickets[.asic, default: [:]][changes.drainNumber] = ticket
            while let next = state.waitingAsic.removeValue(forKey: state.nextAsicDrain) {
                let nextTicket = state.waitingTickets[.asic]?.removeValue(forKey: state.nextAsicDrain)
                state.nextAsicDrain += 1
                state.pending.append(next)
                if let nextTicket { state.pending.tickets.append(nextTicket) }
            }
        }
        signal()
        return ticket
    }

    @discardableResult
    public func submit(_ changes: IndexChanges<CpuGpuMiner, CpuGpuMinerLog>) -> CommitTicket {
        let ticket = CommitTicket()
        state.withLock { state in
            state.waitingCpuGpu[changes.drainNumber] = changes
            state.waitingTickets[.cpuGpu, default: [:]][changes.drainNumber] = ticket
            while let next = state.waitingCpuGpu.removeValue(forKey: state.nextCpuGpuDrain) {
                let nextTicket = state.waitingTickets[.cpuGpu]?.removeValue(forKey: state.nextCpuGpuDrain)
                state.nextCpuGpuDrain += 1
                state.pending.append(next)
                if let nextTicket { state.pending.tickets.append(nextTicket) }
            }
        }
        signal()
        return ticket
    }

    /// Raises counters (sequence reservations, the leader epoch); they never go down.
    @discardableResult
    public func submit(counters: [String: Int64]) -> CommitTicket {
        let ticket = CommitTicket()
        state.withLock { state in
            state.pending.counters.merge(counters) { max($0, $1) }
            state.pending.tickets.append(ticket)
        }
        signal()
        return ticket
    }

    /// Hands over aggregated-history rows (the charts' points) with the cutoffs before which stored rows of each
    /// resolution have aged out.
    @discardableResult
    public func submit(aggregatedHistory rows: [StoredHistoryRow], cutoffs: [String: Timestamp]) -> CommitTicket {
        let ticket = CommitTicket()
        state.withLock { state in
            for row in rows {
                state.pending.aggregatedHistory[
                    "\(row.kind.rawValue)/\(row.resolution)/\(row.bucketStart.microsecondsSinceEpoch)"] = row
            }
            state.pending.aggregatedHistoryCutoffs.merge(cutoffs) { max($0, $1) }
            state.pending.tickets.append(ticket)
        }
        signal()
        return ticket
    }

    private func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.wakeUp = nil }
            return state.wakeUp
        }
        waiter?.resume()
    }

    /// Waits until everything handed over so far is written, or `timeout` passes; returns whether it was.
    public func flush(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(for: .idle) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return isIdle
    }

    // MARK: Writing

    /// Writes until the task is cancelled; what is pending when it is cancelled is written first if it can be.
    public func run() async {
        var failures = 0
        while true {
            let cancelled = Task.isCancelled
            let work = state.withLock { state -> (Pending, [Int64])? in
                if state.deposed { state.pending = Pending() }
                guard !state.pending.isEmpty else { return nil }
                state.writing = true
                defer {
                    state.pending = Pending()
                    state.droppable = []
                }
                return (state.pending, state.droppable)
            }
            guard let (pending, droppable) = work else {
                wake(.idle)
                if cancelled { return }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        // Checked under the lock: a cancellation whose wake-up came before this registration
                        // would otherwise be lost, and the writer would never return.
                        let resumeNow = state.withLock { state in
                            guard state.pending.isEmpty, !Task.isCancelled else { return true }
                            state.wakeUp = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    signal()
                }
                continue
            }
            let started = ContinuousClock.now
            do {
                try await write(pending, droppable: droppable)
                onWrite(ContinuousClock.now - started, true)
                failures = 0
                setHealth(.healthy)
                for ticket in pending.tickets { ticket.complete() }
            } catch {
                onWrite(ContinuousClock.now - started, false)
                if error.kind == .deposed {
                    // Another instance leads now: nothing of this may be written, ever. The commands behind it
                    // were never acknowledged, so the broker hands them to the new leader.
                    logger.error(
                        "deposed: another instance leads; dropping what was not written",
                        metadata: ["store": "\(store.location)", "error": "\(error.message)"])
                    state.withLock { state in
                        state.writing = false
                        state.deposed = true
                    }
                    setHealth(.failing(reason: error.message))
                    wake(.deposed)
                    continue
                }
                setHealth(.failing(reason: error.message))
                let retryIn = Backoff.stateStore.delay(afterFailures: failures)
                failures += 1
                logger.error(
                    "state store write failed; keeping the changes and retrying",
                    metadata: ["store": "\(store.location)", "error": "\(error.message)", "retry_in": "\(retryIn)"])
                state.withLock { state in
                    var retried = pending
                    retried.append(state.pending)
                    state.pending = retried
                    state.droppable = droppable + state.droppable
                    state.writing = false
                }
                if cancelled { return }
                try? await Task.sleep(for: retryIn)
                continue
            }
            state.withLock { $0.writing = false }
        }
    }

    private func setHealth(_ health: Health) {
        let changed = state.withLock { state in
            defer { state.health = health }
            return state.health != health
        }
        if changed { onHealthChange(health) }
    }

    private func write(_ pending: Pending, droppable: [Int64]) async throws(StateStoreError) {
        let now = now()
        var write = StoreWrite()
        write.writtenAt = now
        write.registry = Self.rows(pending.asicRegistry) + Self.rows(pending.cpuGpuRegistry)
        if let segment = Self.segment(.asic, pending.asicLogs.latest) { write.logSegments.append(segment) }
        if let segment = Self.segment(.cpuGpu, pending.cpuGpuLogs.latest) { write.logSegments.append(segment) }
        if let segment = Self.segment(.asic, records: pending.asicHistory) { write.historySegments.append(segment) }
        write.counters = pending.counters
        write.aggregatedHistory = Array(pending.aggregatedHistory.values)
        write.dropAggregatedHistoryBefore = pending.aggregatedHistoryCutoffs
        let logCutoff = now.adding(.zero - retention.offlineAfter)
        write.dropLogSegmentsObservedBefore = logCutoff
        write.dropHistorySegmentsObservedBefore = now.adding(.zero - retention.historyMaxAge)
        write.dropTombstonesBefore = now.adding(.zero - retention.tombstoneRetention)
        write.dropLogSegments = droppable
        guard !write.isEmpty else { return }

        let receipt = try await store.write(write)
        state.withLock { state in
            for (segment, change) in zip(write.logSegments, receipt.logSegmentChanges) {
                state.droppable += state.tracking.record(
                    segment: change, kind: segment.kind, minerIds: segment.minerIds,
                    newestObservedAt: segment.newestObservedAt)
            }
            state.tracking.forget(observedBefore: logCutoff)
        }
    }

    static func rows<Miner: StorableMiner>(_ registry: [Int64: RegistryState<Miner>]) -> [StoreWrite.RegistryRow] {
        registry.map { id, change in
            switch change {
            case .present(let miner): StoreWrite.RegistryRow(kind: Miner.kind, id: id, record: miner.encodedJSON())
            case .deleted: StoreWrite.RegistryRow(kind: Miner.kind, id: id, record: nil)
            }
        }
    }

    public static func segment(_ kind: MinerKind, _ logs: [ObservedLog<AsicMinerLog>]) -> StoreWrite.NewSegment? {
        segment(kind, records: logs)
    }

    public static func segment(_ kind: MinerKind, _ logs: [ObservedLog<CpuGpuMinerLog>]) -> StoreWrite.NewSegment? {
        segment(kind, records: logs)
    }

    static func segment<Record: SegmentRecord>(_ kind: MinerKind, records: [Record]) -> StoreWrite.NewSegment? {
        guard !records.isEmpty else { return nil }
        var newest = Timestamp(microsecondsSinceEpoch: .min)
        var ids: [Int64] = []
        ids.reserveCapacity(records.count)
        // By index, not `for record in`: a loop variable copies each log, and retains every array and string in it.
        for index in records.indices {
            newest = max(newest, records[index].observedAt)
            ids.append(records[index].minerId)
        }
        return StoreWrite.NewSegment(kind: kind, newestObservedAt: newest, body: Segment.encode(records), minerIds: ids)
    }
}

/// 0.25 s, doubling up to 5 s: a store that comes back is written to within seconds.

extension Backoff {
    /// A store that fails is retried soon and then every few seconds: a full disk or a restarted database is
    /// usually back within that, and the changes wait in memory meanwhile.
    public static let stateStore = Backoff(initial: .milliseconds(250), maximum: .seconds(5), jitter: 0)
}
