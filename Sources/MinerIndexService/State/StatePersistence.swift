import Foundation
import Logging
import MinerIndex
import MinerIndexState
import MinerIndexStateStores
import Synchronization

/// Everything the service does with its state store: restore at start, registry commits before their acks, a
/// checkpoint of changed logs every interval, the history read back in the background, and a last checkpoint at
/// shutdown. With a shared (PostgreSQL) store also the standby's refresh and the leader's takeover.
final class StatePersistence: Sendable {
    static let epochCounter = "leader_epoch"

    let writer: StateWriter
    let store: any StateStore
    /// The follower side of a store several instances share; nil where this instance always leads.
    let shared: (any SharedStateStore)?
    let lock: any LeaderLock
    let indexes: MinerIndexes
    let histories: AggregatedHistories
    let sequences: SequenceNumbers
    let exchanges: [String]
    let checkpointInterval: Duration
    let historyMaxAge: Duration
    let metrics: ServiceMetrics
    let logger: Logger
    /// The epoch this process publishes under while it leads; nil while it stands by.
    private let currentEpoch: Mutex<Int64?>
    /// The highest change number applied from a shared store.
    private let mark: Mutex<Int64>
    /// The registry as read at start, kept only until the history is restored (deletes filter old entries).
    private let startupRegistry: Mutex<[StoredRegistryRow]?>

    private init(
        writer: StateWriter, opened: OpenedState, indexes: MinerIndexes,
        histories: AggregatedHistories, sequences: SequenceNumbers, configuration: ServiceConfiguration, epoch: Int64?,
        mark: Int64,
        startupRegistry: [StoredRegistryRow], metrics: ServiceMetrics, logger: Logger
    ) {
        self.writer = writer
        store = opened.store
        shared = opened.shared
        lock = opened.lock
        self.indexes = indexes
        self.histories = histories
        self.sequences = sequences
        exchanges = configuration.outputExchanges.all
        checkpointInterval = configuration.checkpointInterval
        historyMaxAge = configuration.historyMaxAge
        currentEpoch = Mutex(epoch)
        self.mark = Mutex(mark)
        self.startupRegistry = Mutex(startupRegistry)
        self.metrics = metrics
        self.logger = logger
    }

    var epoch: Int64? { currentEpoch.withLock { $0 } }

    // MARK: Start

    /// Opens the store (`StateStoreFactory`) and restores the indexes from it, before anything is consumed; nil
    /// without a store. A file whose rows cannot be decoded is moved aside and the service starts empty.
    static func start(
        configuration: ServiceConfiguration, indexes: MinerIndexes, histories: AggregatedHistories,
        metrics: ServiceMetrics, logger: Logger
    ) async throws -> StatePersistence? {
        let started = ContinuousClock.now
        guard
            let opened = try await StateStoreFactory.open(
                configuration.state, offlineAfter: configuration.offlineAfter, leaderLease: configuration.leaderLease,
                logger: logger, onFileSetAside: { metrics.stateCorruptFiles.increment() })
        else { return nil }
        let store = opened.store, stored = opened.stored, isShared = opened.shared != nil
        let now = Timestamp(Date())
        let restored: StateRestore.Restored
        do {
            restored = try StateRestore.restore(stored, now: now, offlineAfter: configuration.offlineAfter)
        } catch {
            guard let aside = try opened.setAsideUnreadable() else {
                throw StateStartupFailure(description: "the shared store holds records that cannot be read: \(error)")
            }
            metrics.stateCorruptFiles.increment()
            logger.error(
                "the state file holds records that cannot be read: moved it aside and starting with an empty state",
                metadata: ["state": "\(store.location)", "moved_to": "\(aside)", "error": "\(error.description)"])
            return try await start(
                configuration: configuration, indexes: indexes, histories: histories, metrics: metrics, logger: logger)
        }
        await indexes.asic.applyPersisted(restored.asic, now: now)
        await indexes.cpuGpu.applyPersisted(restored.cpuGpu, now: now)
        restoreAggregatedHistory(stored.aggregatedHistory, into: histories, now: now, logger: logger)

        let writer = StateWriter(
            store: store,
            retention: RetentionPolicy(
                offlineAfter: configuration.offlineAfter, historyMaxAge: configuration.historyMaxAge),
            tracking: isShared ? SegmentTracking() : restored.tracking, logger: logger,
            onHealthChange: { health in
                metrics.stateStoreUp.record(health == .healthy ? 1 : 0)
                if health == .healthy {
                    logger.info("state store writes work again", metadata: ["state": "\(store.location)"])
                }
            },
            onWrite: { duration, succeeded in metrics.stateWrite(seconds: duration, succeeded: succeeded) })
        if !isShared { writer.dropLater(restored.supersededSegments) }
        metrics.stateStoreUp.record(1)
        // A single instance leads from its start, one epoch above the last; a shared store's epoch is raised at
        // each takeover instead.
        let epoch = isShared ? nil : (restored.counters[epochCounter] ?? 0) + 1
        let persistence = StatePersistence(
            writer: writer, opened: opened, indexes: indexes, histories: histories,
            sequences: SequenceNumbers(resumingFrom: restored.counters, persistent: true, logger: logger),
            configuration: configuration, epoch: epoch, mark: restored.mark, startupRegistry: stored.registry,
            metrics: metrics, logger: logger)
        logger.info(
            "state restored",
            metadata: [
                "state": "\(store.location)", "asic_miners": "\(restored.asic.registry.count)",
                "asic_live": "\(restored.asic.logs.count)", "cpu_gpu_miners": "\(restored.cpuGpu.registry.count)",
                "cpu_gpu_live": "\(restored.cpuGpu.logs.count)",
                "milliseconds": "\(Int((ContinuousClock.now - started).secondsValue * 1000))",
            ])
        return persistence
    }

    /// Puts the stored chart rows back before the recorder's first tick. A row that cannot be read is skipped:
    /// the chart loses a point, not the state.
    private static func restoreAggregatedHistory(
        _ rows: [StoredHistoryRow], into histories: AggregatedHistories, now: Timestamp, logger: Logger
    ) {
        var decoded: [MinerKind: [AggregatedHistoryRow]] = [:]
        var unreadable = 0
        for row in rows {
            guard let resolution = AggregatedHistoryResolution(rawValue: row.resolution),
                let value = try? AggregatedHistoryCoding.decode(row.body, resolution: resolution)
            else {
                unreadable += 1
                continue
            }
            decoded[row.kind, default: []].append(value)
        }
        if unreadable > 0 {
            logger.warning("skipped unreadable aggregated-history rows", metadata: ["rows": "\(unreadable)"])
        }
        histories.asic.restore(decoded[.asic] ?? [], now: now)
        histories.cpuGpu.restore(decoded[.cpuGpu] ?? [], now: now)
    }

    // MARK: Leading

    /// A single instance's start as leader: writes the new epoch and the sequence reservations, waiting a moment
    /// for them to be durable, so that nothing is published under numbers a crash could hand out again.
    func prepareSingleLeader() async {
        guard let epoch else { return }
        await reserve(extra: [Self.epochCounter: epoch])
    }

    private func reserve(extra: [String: Int64] = [:]) async {
        let counters = sequences.reservations(for: exchanges).merging(extra) { $1 }
        let ticket = writer.submit(counters: counters)
        if await ticket.wait(upTo: .seconds(1)) {
            sequences.reserved(counters)
        } else {
            ticket.onCommit { [sequences] in sequences.reserved(counters) }
        }
    }

    /// A standby that got the lock becomes the leader: it raises the epoch first (which fences any write a deposed
    /// leader still has in flight, and waits for one that holds the fence), then reads everything written up to
    /// that point, then reserves sequence numbers. Only then may it consume and publish.
    func takeLeadership() async throws(StateStoreError) -> Int64 {
        guard let shared else { throw StateStoreError(.unavailable, "not a shared store") }
        let epoch = try await shared.beginLeadership()
        try await refresh()
        currentEpoch.withLock { $0 = epoch }
        await reserve()
        logger.notice("took over as leader", metadata: ["epoch": "\(epoch)", "state": "\(store.location)"])
        return epoch
    }

    /// Gives up leadership: the lock goes, writes stop being fenced, and what was not written is dropped (its
    /// commands were never acknowledged, so the broker redelivers them to the next leader).
    func stepDown() async {
        currentEpoch.withLock { $0 = nil }
        guard let shared else { return }
        await lock.release()
        shared.endLeadership()
        writer.reset()
    }

    // MARK: Following

    /// Applies what the leader wrote since the last refresh.
    func refresh() async throws(StateStoreError) {
        guard let shared else { return }
        let since = mark.withLock { $0 }
        let changes = try await shared.changes(since: since)
        let refresh: StateRestore.Refresh
        do {
            refresh = try StateRestore.refresh(changes)
        } catch {
            throw StateStoreError(.corrupt, "the shared store holds records that cannot be read: \(error.description)")
        }
        let now = Timestamp(Date())
        for step in refresh.asic { await indexes.asic.applyPersisted(step, now: now) }
        for step in refresh.cpuGpu { await indexes.cpuGpu.applyPersisted(step, now: now) }
        sequences.resume(from: changes.counters)
        mark.withLock { $0 = max($0, refresh.mark) }
    }

    // MARK: Writing

    /// Runs the writer (and reads the history back) until cancelled.
    func runWriter() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.writer.run() }
            group.addTask { await self.restoreHistory() }
        }
    }

    /// Checkpoints every interval until cancelled (while leading).
    func runCheckpoints() async {
        await runFixedRate(every: checkpointInterval) { self.checkpoint() }
    }

    /// Hands the registry changes of `kind` to the writer; the ticket completes when they are durable.
    func commitRegistry(_ kind: MinerKind) async -> CommitTicket {
        switch kind {
        case .asic: writer.submit(await indexes.asic.drainChanges(includeLogs: false))
        case .cpuGpu: writer.submit(await indexes.cpuGpu.drainChanges(includeLogs: false))
        }
    }

    /// Takes every change since the last checkpoint, unless the previous one is still being written (its changes
    /// then wait in the actors and go into the next).
    func checkpoint() {
        guard writer.isIdle else { return }
        Task { await checkpointNow() }
    }

    private func checkpointNow() async {
        writer.submit(await indexes.asic.drainChanges(includeLogs: true))
        writer.submit(await indexes.cpuGpu.drainChanges(includeLogs: true))
        let counters = sequences.reservations(for: exchanges)
        writer.submit(counters: counters).onCommit { [sequences] in sequences.reserved(counters) }
        let now = Timestamp(Date())
        var rows: [StoredHistoryRow] = []
        for (kind, history) in [(MinerKind.asic, histories.asic), (.cpuGpu, histories.cpuGpu)] {
            for row in history.pendingRows() {
                rows.append(
                    StoredHistoryRow(
                        kind: kind, resolution: row.resolution.rawValue, bucketStart: row.bucketStart,
                        body: AggregatedHistoryCoding.encode(row)))
            }
        }
        var cutoffs: [String: Timestamp] = [:]
        for resolution in AggregatedHistoryResolution.allCases {
            cutoffs[resolution.rawValue] = histories.asic.retentionCutoff(resolution, now: now)
        }
        writer.submit(aggregatedHistory: rows, cutoffs: cutoffs)
    }

    /// The last checkpoint at shutdown, waited for (within `timeout`).
    func finish(timeout: Duration = .seconds(10)) async {
        await checkpointNow()
        if !(await writer.flush(timeout: timeout)) {
            logger.error(
                "the final checkpoint was not written in time; the last logs will come from the miners' next reports",
                metadata: ["state": "\(store.location)"])
        }
    }

    func close() async {
        await store.close()
    }

    /// Why the service is not ready because of its store, if it is not.
    var unreadiness: String? {
        if case .failing(let reason) = writer.health { return "state store cannot be written: \(reason)" }
        return nil
    }

    private func restoreHistory() async {
        guard let registry = startupRegistry.withLock({ $0 }) else { return }
        defer { startupRegistry.withLock { $0 = nil } }
        let now = Timestamp(Date())
        do {
            let segments = try await store.loadHistory(since: now.adding(.zero - historyMaxAge))
            let history = try StateRestore.history(segments, registry: registry)
            await indexes.asic.applyPersisted(PersistedChanges(history: history), now: Timestamp(Date()))
            logger.debug("history restored", metadata: ["asic_miners": "\(history.count)"])
        } catch {
            logger.error(
                "the stored history could not be read; the charts start from now",
                metadata: ["state": "\(store.location)", "error": "\(error)"])
        }
    }
}
