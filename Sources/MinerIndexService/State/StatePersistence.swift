import Foundation
import Logging
import MinerIndex
import MinerIndexState
import MinerIndexStateSQLite
import Synchronization

/// Everything the service does with its state store: restore at start, registry commits before their acks, a
/// checkpoint of changed logs every interval, the history read back in the background, and a last checkpoint at
/// shutdown.
final class StatePersistence: Sendable {
    static let epochCounter = "leader_epoch"

    let writer: StateWriter
    let store: any StateStore
    let indexes: MinerIndexes
    let sequences: SequenceNumbers
    let exchanges: [String]
    let checkpointInterval: Duration
    let historyMaxAge: Duration
    let metrics: ServiceMetrics
    let logger: Logger
    /// The epoch this process publishes under: one more than any before it on this store.
    let epoch: Int64
    /// The registry as read at start, kept only until the history is restored (deletes filter old entries).
    private let startupRegistry: Mutex<[StoredRegistryRow]?>

    private init(
        writer: StateWriter, store: any StateStore, indexes: MinerIndexes, sequences: SequenceNumbers,
        exchanges: [String], configuration: ServiceConfiguration, epoch: Int64, startupRegistry: [StoredRegistryRow],
        metrics: ServiceMetrics, logger: Logger
    ) {
        self.writer = writer
        self.store = store
        self.indexes = indexes
        self.sequences = sequences
        self.exchanges = exchanges
        checkpointInterval = configuration.checkpointInterval
        historyMaxAge = configuration.historyMaxAge
        self.epoch = epoch
        self.startupRegistry = Mutex(startupRegistry)
        self.metrics = metrics
        self.logger = logger
    }

    /// Opens the store and restores the indexes from it, before anything is consumed. Throws (and the service
    /// refuses to start) when the store belongs to another running instance or to a newer version; a damaged
    /// file is moved aside and the service starts empty; an existing store that cannot be read yet is retried
    /// until it can, because starting empty would publish a registry that is not the farm's.
    static func start(
        configuration: ServiceConfiguration, indexes: MinerIndexes, metrics: ServiceMetrics, logger: Logger
    ) async throws -> StatePersistence? {
        guard case .sqlite(let path) = configuration.state else { return nil }
        let started = ContinuousClock.now
        let store = SQLiteStateStore(path: path, logger: logger)
        var stored = StoredState()
        var backoff = Duration.milliseconds(250)
        opening: while true {
            do {
                if store.fileExists { try store.open() }
                stored = try await store.load(logsSince: Timestamp(Date()).adding(.zero - configuration.offlineAfter))
                break opening
            } catch {
                switch error.kind {
                case .lockedByAnotherInstance, .newerSchema, .deposed:
                    throw StateStartupFailure(description: error.message)
                case .corrupt:
                    let aside = try store.moveAside()
                    metrics.stateCorruptFiles.increment()
                    logger.error(
                        "the state file is damaged: moved it aside and starting with an empty state",
                        metadata: ["state": "\(path)", "moved_to": "\(aside)", "error": "\(error.message)"])
                case .unavailable:
                    guard store.fileExists else {
                        // Nothing was ever stored here: empty is the truth, and the writer creates the file once it can.
                        logger.error(
                            "cannot create the state file yet; running in memory and retrying",
                            metadata: ["state": "\(path)", "error": "\(error.message)"])
                        stored = StoredState()
                        break opening
                    }
                    logger.error(
                        "cannot read the state file; retrying before consuming",
                        metadata: ["state": "\(path)", "error": "\(error.message)", "retry_in": "\(backoff)"])
                    try await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
        }

        let now = Timestamp(Date())
        let restored: StateRestore.Restored
        do {
            restored = try StateRestore.restore(stored, now: now, offlineAfter: configuration.offlineAfter)
        } catch {
            // Rows SQLite reads fine but we cannot decode: the file is not what we wrote.
            let aside = try store.moveAside()
            metrics.stateCorruptFiles.increment()
            logger.error(
                "the state file holds records that cannot be read: moved it aside and starting with an empty state",
                metadata: ["state": "\(path)", "moved_to": "\(aside)", "error": "\(error.description)"])
            return try await start(configuration: configuration, indexes: indexes, metrics: metrics, logger: logger)
        }
        await indexes.asic.applyPersisted(restored.asic, now: now)
        await indexes.cpuGpu.applyPersisted(restored.cpuGpu, now: now)

        let sequences = SequenceNumbers(resumingFrom: restored.counters, persistent: true, logger: logger)
        let writer = StateWriter(
            store: store,
            retention: RetentionPolicy(offlineAfter: configuration.offlineAfter, historyMaxAge: configuration.historyMaxAge),
            tracking: restored.tracking, logger: logger,
            onHealthChange: { health in
                metrics.stateStoreUp.record(health == .healthy ? 1 : 0)
                if health == .healthy { logger.info("state store writes work again", metadata: ["state": "\(path)"]) }
            },
            onWrite: { duration, succeeded in
                metrics.stateWrite(seconds: duration, succeeded: succeeded)
            })
        writer.dropLater(restored.supersededSegments)
        metrics.stateStoreUp.record(1)
        let exchanges = configuration.outputExchanges.all
        let epoch = (restored.counters[epochCounter] ?? 0) + 1
        let persistence = StatePersistence(
            writer: writer, store: store, indexes: indexes, sequences: sequences, exchanges: exchanges,
            configuration: configuration, epoch: epoch, startupRegistry: stored.registry, metrics: metrics,
            logger: logger)
        logger.info(
            "state restored",
            metadata: [
                "state": "\(path)", "asic_miners": "\(restored.asic.registry.count)",
                "asic_live": "\(restored.asic.logs.count)", "cpu_gpu_miners": "\(restored.cpuGpu.registry.count)",
                "cpu_gpu_live": "\(restored.cpuGpu.logs.count)", "epoch": "\(epoch)",
                "milliseconds": "\((ContinuousClock.now - started).secondsValue * 1000)",
            ])
        return persistence
    }

    /// Runs the writer and the checkpoints until cancelled. The epoch and the first sequence reservations are
    /// written (and, when the store works, durable) before this returns from `prepare`.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.writer.run() }
            group.addTask { await self.restoreHistory() }
            group.addTask {
                await runFixedRate(every: self.checkpointInterval) { self.checkpoint() }
            }
        }
    }

    /// Writes the new epoch and sequence reservations, waiting a moment for them to be durable, so that nothing is
    /// published under numbers a crash could hand out again.
    func prepare() async {
        let counters = sequences.reservations(for: exchanges).merging([Self.epochCounter: epoch]) { $1 }
        let ticket = writer.submit(counters: counters)
        if await ticket.wait(upTo: .seconds(1)) {
            sequences.reserved(counters)
        } else {
            ticket.onCommit { [sequences] in sequences.reserved(counters) }
        }
    }

    /// Hands the registry changes of `kind` to the writer; the ticket completes when they are durable.
    func commitRegistry(asic: Bool) async -> CommitTicket {
        if asic { return writer.submit(await indexes.asic.drainChanges(includeLogs: false)) }
        return writer.submit(await indexes.cpuGpu.drainChanges(includeLogs: false))
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
    }

    /// The last checkpoint at shutdown, waited for (within `timeout`), then the store is closed.
    func finish(timeout: Duration = .seconds(10)) async {
        await checkpointNow()
        if !(await writer.flush(timeout: timeout)) {
            logger.error("the final checkpoint was not written in time; the last logs will come from the miners' next reports",
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
            logger.error("the stored history could not be read; the charts start from now",
                         metadata: ["state": "\(store.location)", "error": "\(error)"])
        }
    }
}

struct StateStartupFailure: Error, CustomStringConvertible {
    let description: String
}
