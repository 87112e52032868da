/// The state both index actors share: the registry and the operational map of one miner kind, changed together
/// under one version counter. The actors wrap it so that every rule about logs, registration, deletion and
/// expiry lives in one place.
struct MinerIndexCore<Miner: FleetHealthMiner, Log: FleetHealthLog>: Sendable {
    let configuration: IndexConfiguration
    private(set) var registry = MinerRegistry<Miner>()
    private(set) var operational: OperationalMap<Log>
    /// Bumped by every change visible in a snapshot; entries remember the value at which they changed.
    private(set) var version: UInt64 = 0
    /// The aggregated index over the listed logs (latest logs of activated miners), kept in step with every
    /// change below.
    private var running = RunningAggregate()
    /// What changed since the store last drained it; untouched unless the configuration tracks changes.
    private var journal = ChangeJournal<Miner>()
    /// The fleet-health figures (status counts, thermal, pools, …), kept in step with the same changes.
    private var health: RunningFleetHealth<Miner, Log>
    /// What left the maps and when, for deltas.
    private var removals = RemovalLog()
    /// The latest canaries, shown in the aggregated payload and counted nowhere. Not journalled: a canary checks
    /// the pipeline as it runs now, and the next one after a restart says the same.
    private var canaries = CanaryBoard()

    init(configuration: IndexConfiguration) {
        self.configuration = configuration
        // One-second buckets match the one-second sweep, so a sweep rescans at most one second of arrivals.
        operational = OperationalMap(bucketWidthMicroseconds: 1_000_000)
        health = RunningFleetHealth(staleAfterMicroseconds: configuration.staleAfterMicroseconds)
    }

    func isOffline(_ observedAt: Timestamp, at now: Timestamp) -> Bool {
        observedAt.microsecondsSinceEpoch < now.microsecondsSinceEpoch - configuration.offlineAfterMicroseconds
    }

    /// Makes `log` the miner's latest unless it is out of order or already offline when received. A log that
    /// is made live registers an unknown id, so "alive n/m" never has n > m; a stale one does not, so a backlog
    /// from a deleted miner cannot bring it back.
    mutating func put(_ log: Log, observedAt: Timestamp, receivedAt: Timestamp) -> ApplyOutcome {
        if isOffline(observedAt, at: receivedAt) { return .ignoredOffline }
        if isFull(for: log.minerId) { return .registryFull }
        let revision = version + 1
        guard case .stored(let previous) = operational.put(log, observedAt: observedAt, revision: revision) else {
            return .ignoredOutOfOrder
        }
        let (registration, isNew) = registry.entryRegisteringIfUnknown(log.minerId, revision: revision)
        if isNew {
            health.register(registration.miner, live: nil)
            if configuration.tracksChanges { journal.registry[log.minerId] = .present(registration.miner) }
        }
        if registration.activated {
            if let previous { running.subtract(previous.log) }
            running.add(log)
            health.putLog(log, observedAt: observedAt, id: log.minerId, of: registration.miner)
        }
        version = revision
        return .applied
    }

    /// Whether registering `id` would take the registry past its limit.
    private func isFull(for id: Int64) -> Bool {
        registry.entries.count >= configuration.maxMiners && registry.entries[id] == nil
    }

    mutating func upsert(_ miner: Miner) -> ApplyOutcome {
        if isFull(for: miner.id) { return .registryFull }
        version += 1
        let previous = registry[miner.id]
        let wasListed = previous?.activated ?? false
        registry.upsert(miner, revision: version)
        if configuration.tracksChanges { journal.registry[miner.id] = .present(miner) }
        if wasListed != miner.activated, let entry = operational[miner.id] {
            if miner.activated { running.add(entry.log) } else { running.subtract(entry.log) }
        }
        if let previous { health.unregister(previous) }
        health.register(miner, live: operational[miner.id].map(ListedLog.init))
        return .applied
    }

    /// Shows the canary in the aggregated payload from the next broadcast on: the version moves, as for any change
    /// a broadcast would show, so the broadcaster publishes even when no log came with it.
    mutating func canary(_ canary: Canary, receivedAt: Timestamp) -> ApplyOutcome {
        let outcome = canaries.record(canary, receivedAt: receivedAt)
        if outcome == .applied { version += 1 }
        return outcome
    }

    /// Forgets the miner and its latest log together.
    mutating func delete(id: Int64) -> ApplyOutcome {
        let registration = registry[id]
        let wasListed = registration?.activated ?? false
        let wasRegistered = registry.remove(id)
        let removed = operational.remove(id)
        if wasListed, let removed { running.subtract(removed.log) }
        if let registration { health.unregister(registration) }
        let hadLog = removed != nil
        guard wasRegistered || hadLog else { return .notFound }
        if configuration.tracksChanges { journal.registry[id] = .deleted }
        version += 1
        if wasRegistered { removals.removedMiner(id, at: version) }
        if hadLog { removals.removedLog(id, at: version) }
        boundRemovals()
        return .applied
    }

    /// Drops the latest log only, as the original GenServer's `remove` did; the registration stays.
    mutating func remove(_ id: Int64) -> Bool {
        guard let removed = operational.remove(id) else { return false }
        if let registration = registry.entries[id], registration.activated {
            running.subtract(removed.log)
            health.removeLog(id: id, of: registration.miner)
        }
        version += 1
        removals.removedLog(id, at: version)
        boundRemovals()
        return true
    }

    mutating func expire(now: Timestamp) -> [Int64] {
        let cutoff = Timestamp(
            microsecondsSinceEpoch: now.microsecondsSinceEpoch
                - configuration.offlineAfterMicroseconds)
        let removed = operational.expire(before: cutoff)
        for (id, entry) in removed {
            guard let registration = registry.entries[id], registration.activated else { continue }
            running.subtract(entry.log)
            health.removeLog(id: id, of: registration.miner)
        }
        let staleCountChanged = health.advance(to: now)
        if !removed.isEmpty || staleCountChanged { version += 1 }
        for (id, _) in removed { removals.removedLog(id, at: version) }
        if !removed.isEmpty { boundRemovals() }
        return removed.map(\.id)
    }

    private mutating func boundRemovals() {
        removals.bound(indexSize: registry.entries.count + operational.entries.count, version: version)
    }

    /// What changed in the broadcast maps after `since`, or nil if that is older than the removal records reach.
    /// Costs one pass over the registry and the operational map (a few milliseconds at 100k miners), plus the
    /// changed entries; removal records at or below `since` are dropped, as no later call asks for them.
    mutating func delta(since: UInt64) -> IndexDelta<Miner, Log>? {
        guard since >= removals.horizon, since <= version else { return nil }
        removals.forget(through: since)
        var delta = IndexDelta<Miner, Log>(fromVersion: since, version: version, aggregate: aggregate)
        guard since < version else { return delta }
        var removedMiners = Set<Int64>()
        var removedLogs = Set<Int64>()
        for (id, entry) in registry.entries where entry.revision > since {
            if entry.activated {
                delta.upsertedMiners.append((id, entry))
                // The miner may just have been activated, and its log was not listed before.
                if let log = operational[id], log.revision <= since { delta.upsertedLogs.append((id, log)) }
            } else {
                removedMiners.insert(id)
                removedLogs.insert(id)
            }
        }
        for (id, entry) in operational.entries where entry.revision > since && registry.isActivated(id) {
            delta.upsertedLogs.append((id, entry))
        }
        for (id, _) in removals.miners where registry.entries[id] == nil {
            removedMiners.insert(id)
            removedLogs.insert(id)
        }
        for (id, _) in removals.logs where !registry.isActivated(id) || operational[id] == nil {
            removedLogs.insert(id)
        }
        delta.removedMiners = removedMiners.sorted()
        delta.removedLogs = removedLogs.filter { !(registry.isActivated($0) && operational[$0] != nil) }.sorted()
        return delta
    }

    /// A delta since `since` and/or a snapshot, of the same version.
    mutating func publication(since: UInt64?, includeSnapshot: Bool) -> IndexPublication<Miner, Log> {
        let delta = since.flatMap { self.delta(since: $0) }
        let needsSnapshot = includeSnapshot || (since != nil && delta == nil)
        return IndexPublication(delta: delta, snapshot: needsSnapshot ? snapshot() : nil, version: version)
    }

    /// Takes the journal: every registry row changed since the last drain, and with `includeLogs` the latest log of
    /// every miner whose log changed (left in the journal otherwise, for the next checkpoint).
    mutating func drainChanges(includeLogs: Bool) -> IndexChanges<Miner, Log> {
        journal.drains += 1
        var changes = IndexChanges<Miner, Log>(drainNumber: journal.drains)
        changes.registry = journal.registry.map { RegistryChange(id: $0.key, state: $0.value) }
        journal.registry.removeAll(keepingCapacity: true)
        if includeLogs {
            // A miner deleted or expired since its last drain has nothing to write: the store's tombstone or the
            // observation time already rules its older log out.
            let drained = journal.drainedRevision
            for entry in operational.entries.values where entry.revision > drained {
                changes.logs.append(ObservedLog(log: entry.log, observedAt: entry.observedAt))
            }
            journal.drainedRevision = version
        }
        return changes
    }

    /// Applies state read back from a store, as if the commands that produced it arrived now: registry changes
    /// first, then logs (a log already offline at `now` is ignored, exactly as on arrival). The journal is left as
    /// it was, because the store already holds all of this.
    mutating func applyPersisted(registry changes: [RegistryChange<Miner>], logs: [ObservedLog<Log>], now: Timestamp) {
        let saved = journal
        let nothingPending = journal.drainedRevision == version
        for change in changes {
            switch change.state {
            case .present(let miner): _ = upsert(miner)
            case .deleted: _ = delete(id: change.id)
            }
        }
        for stored in logs { _ = put(stored.log, observedAt: stored.observedAt, receivedAt: now) }
        journal = saved
        if nothingPending { journal.drainedRevision = version }
    }

    /// The aggregated index now, in O(coins + pools + models).
    var aggregate: MinerAggregate {
        var aggregate = running.aggregate(registeredCount: registry.activatedCount)
        aggregate.health = health.figures(
            liveCount: aggregate.liveCount, activatedCount: registry.activatedCount,
            registeredCount: registry.entries.count, name: { registry[$0]?.name })
        aggregate.canaries = canaries.marks
        return aggregate
    }

    func snapshot() -> MinerIndexSnapshot<Miner, Log> {
        MinerIndexSnapshot(
            version: version, registry: registry, operational: operational.entries,
            aggregate: aggregate)
    }
}
