import AMQP
import Foundation
import Logging
import MinerIndex

/// One miner-load run: connect, bind the verify queues, register the fleet, send at the configured pace until
/// the duration or count is reached, wait for every confirm, then verify the service's snapshots.
public struct LoadRun: Sendable {
    public let configuration: LoadConfiguration
    public let showsProgress: Bool
    /// The running totals, readable while the run is going (the progress line reads them once a second).
    public let counters = LoadCounters()
    let logger: Logger

    public init(configuration: LoadConfiguration, showsProgress: Bool, logger: Logger) {
        self.configuration = configuration
        self.showsProgress = showsProgress
        self.logger = logger
    }

    public func run() async throws(LoadError) -> LoadSummary {
        let runID = String(UInt32.random(in: .min ... .max), radix: 16)
        let usageAtStart = ProcessUsage.now()
        var settings = configuration.amqp
        settings.connectTimeout = min(settings.connectTimeout, configuration.connectTimeout)
        let kinds = MinerKind.allCases.filter { configuration.count(of: $0) > 0 }
        let probing = configuration.verification != nil

        let publisher = AMQPPublisher(
            settings: settings,
            configuration: .init(
                topology: Topology(exchanges: [
                    ExchangeDeclaration(name: configuration.exchange, kind: .topic, durable: true)
                ]),
                whenBlocked: .wait(upTo: .seconds(30)), backoff: configuration.reconnectBackoff),
            logger: logger)
        publisher.start()
        do {
            try await publisher.waitUntilConnected(timeout: configuration.connectTimeout)
        } catch {
            await publisher.close()
            throw .brokerUnreachable(url: settings.redactedURL, reason: error.description)
        }

        let lag = LagTracker()
        let scheduleDelays = ScheduleDelays()
        var watch: SnapshotWatch?
        if let verification = configuration.verification {
            let listener = SnapshotWatch(
                settings: settings, verification: verification, runID: runID, canaryID: LagProbe.canaryID(runID: runID),
                kinds: kinds, lag: lag, countsIndexSnapshots: !verification.checksRebuiltIndex,
                backoff: configuration.reconnectBackoff, logger: logger)
            do {
                try await listener.start(timeout: configuration.connectTimeout)
            } catch {
                await listener.close()
                await publisher.close()
                throw .snapshotListenerFailed(url: settings.redactedURL, reason: error.description)
            }
            watch = listener
        }
        // Subscribers join before the first log, but ask for a keyframe like any late joiner.
        var subscribers: [(MinerKind, IndexStreamSubscriber)] = []
        if let verification = configuration.verification, verification.checksRebuiltIndex {
            for kind in kinds {
                let subscriber = IndexStreamSubscriber(
                    settings: settings, kind: kind, exchanges: verification.streamExchanges(kind),
                    backoff: configuration.reconnectBackoff, logger: logger)
                do {
                    try await subscriber.start(timeout: configuration.connectTimeout)
                } catch {
                    await subscriber.close()
                    for (_, started) in subscribers { await started.close() }
                    await watch?.close()
                    await publisher.close()
                    throw .snapshotListenerFailed(url: settings.redactedURL, reason: error.description)
                }
                subscribers.append((kind, subscriber))
            }
        }

        let ledger = SharedLedger(
            MinerLedger(asicCount: configuration.asicCount, cpuGpuCount: configuration.cpuGpuCount))
        let window = PublishWindow(capacity: configuration.window)
        let dispatcher = MessageDispatcher(
            publisher: publisher, configuration: configuration, runID: runID, window: window, counters: counters,
            ledger: ledger, lag: lag, scheduleDelays: scheduleDelays)
        var fleet = Fleet(
            asicCount: configuration.asicCount, cpuGpuCount: configuration.cpuGpuCount, seed: configuration.seed,
            churn: configuration.churn, badFraction: configuration.badFraction,
            deactivatedFraction: configuration.register ? configuration.deactivatedFraction : 0)

        let startedAt = ContinuousClock.now
        let progress =
            showsProgress
            ? Task { await ProgressReporter(counters: counters, window: window).run(startedAt: startedAt) } : nil
        defer { progress?.cancel() }

        // The send phase starts after registration, so the achieved rate counts the paced traffic only.
        let sendResult:
            Result<(startedAt: ContinuousClock.Instant, confirmedBefore: Int, usage: ProcessUsage), LoadError> =
                await withDiscardingTaskGroup { group in
                    do throws(LoadError) {
                        if configuration.register {
                            try await register(
                                fleet, kinds: kinds, dispatcher: dispatcher, publisher: publisher, group: &group)
                        }
                        let confirmedBefore = counters.snapshot.confirmed
                        let sendStartedAt = ContinuousClock.now
                        let usage = ProcessUsage.now()
                        try await send(
                            &fleet, kinds: probing ? kinds : [], runID: runID, dispatcher: dispatcher,
                            publisher: publisher, group: &group)
                        return .success((sendStartedAt, confirmedBefore, usage))
                    } catch {
                        return .failure(error)
                    }
                }
        progress?.cancel()
        let sendEndedAt = ContinuousClock.now
        let usageAtSendEnd = ProcessUsage.now()
        let sendStartedAt: ContinuousClock.Instant
        let confirmedBefore: Int
        let usageAtSendStart: ProcessUsage
        var outcome = sendResult
        if case .success = outcome, let reason = dispatcher.gaveUpReason {
            outcome = .failure(.brokerLost(url: settings.redactedURL, reason: reason))
        }
        switch outcome {
        case .success(let phase):
            (sendStartedAt, confirmedBefore, usageAtSendStart) = phase
            if showsProgress {
                let counts = counters.snapshot
                let line = ProgressReporter.line(
                    counts, rate: Double(counts.sent) / max((sendEndedAt - startedAt).secondsValue, 1e-9),
                    elapsed: (sendEndedAt - startedAt).secondsValue, inFlight: window.inUse)
                FileHandle.standardError.write(Data((line + "  (all answered; average rate)\n").utf8))
            }
        case .failure(let error):
            for (_, subscriber) in subscribers { await subscriber.close() }
            await watch?.close()
            await publisher.close()
            throw error
        }

        var report: VerificationReport?
        if let watch, let verification = configuration.verification {
            report = await ConvergenceCheck(
                watch: watch, ledger: ledger.current, kinds: kinds, verification: verification,
                showsProgress: showsProgress
            ).run(sendEndedAt: sendEndedAt)
            await watch.close()
            if var checked = report, !subscribers.isEmpty {
                await RebuiltIndexCheck(subscribers: subscribers, timeout: verification.timeout).run(on: &checked)
                report = checked
            }
            report?.checkDelivery(of: counters.snapshot, exchange: configuration.exchange)
        }
        for (_, subscriber) in subscribers { await subscriber.close() }
        await publisher.close()

        let counts = counters.snapshot
        let sendSeconds = (sendEndedAt - sendStartedAt).secondsValue
        let sentInSendPhase = counts.sent - (configuration.register ? counts.upserts : 0)
        let cpu = LoadSummary.CPU(
            sendSeconds: usageAtSendEnd.cpuSeconds - usageAtSendStart.cpuSeconds,
            totalSeconds: ProcessUsage.now().cpuSeconds - usageAtStart.cpuSeconds, sendPhaseMessages: sentInSendPhase)
        return LoadSummary(
            broker: settings.redactedURL, exchange: configuration.exchange, seed: configuration.seed,
            asicMiners: configuration.asicCount, cpuGpuMiners: configuration.cpuGpuCount,
            reportIntervalSeconds: configuration.reportInterval.secondsValue,
            requestedRate: configuration.rate.description, sendSeconds: sendSeconds, counts: counts,
            achievedRate: Double(counts.confirmed - confirmedBefore) / max(sendSeconds, 1e-9),
            scheduleDelay: scheduleDelays.summary, cpu: cpu, verification: report)
    }

    /// An upsert per miner, as fast as the window allows, before any log.
    private func register(
        _ fleet: Fleet, kinds: [MinerKind], dispatcher: MessageDispatcher, publisher: AMQPPublisher,
        group: inout DiscardingTaskGroup
    ) async throws(LoadError) {
        let batchSize = max(1, min(256, configuration.window / 4))
        for kind in kinds {
            var batch: [PendingMessage] = []
            for index in 0..<fleet.count(of: kind) {
                let slot = MinerSlot(kind: kind, index: index)
                let now = Date()
                batch.append(
                    dispatcher.message(
                        routingKey: kind.upsertRoutingKey, body: fleet.upsertBody(for: slot, at: Timestamp(now)),
                        sentAt: now,
                        role: .upsert(slot, activated: fleet.isActivated(slot))))
                if batch.count == batchSize {
                    try await ensureConnected(publisher)
                    await dispatcher.dispatch(batch, in: &group)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try await ensureConnected(publisher)
            await dispatcher.dispatch(batch, in: &group)
        }
        // Logs must not overtake upserts: a log first would register the miner as an activated placeholder.
        await dispatcher.window.drain()
    }

    /// The paced send loop. Returns when the last message was handed to the publisher.
    private func send(
        _ fleet: inout Fleet, kinds probeKinds: [MinerKind], runID: String, dispatcher: MessageDispatcher,
        publisher: AMQPPublisher, group: inout DiscardingTaskGroup
    ) async throws(LoadError) {
        let canaryID = LagProbe.canaryID(runID: runID)
        let pacer = SendPacer(slotsPerSecond: configuration.slotsPerSecond)
        let maximumBatch = max(1, min(256, configuration.window / 4))
        let probeInterval = max(
            configuration.verification?.probeInterval ?? .zero,
            .seconds(20 / (configuration.slotsPerSecond ?? .infinity)))
        var probeSerial: Int64 = 0
        var nextProbeAt = ContinuousClock.now
        // The kinds still owed the current probe. A batch of one slot has room for one kind only; skipping the
        // other left it without probes for as long as the pace stayed even.
        var probesOwed: [MinerKind] = []
        let startedAt = ContinuousClock.now
        var nextSlot: Int64 = 0
        var messages = 0

        while true {
            let now = ContinuousClock.now
            let elapsed = (now - startedAt).secondsValue
            var allowed = Int64(maximumBatch)
            switch configuration.length {
            case .duration(let duration):
                if elapsed >= duration.secondsValue { return }
            case .count(let limit):
                if messages >= limit { return }
                allowed = min(allowed, Int64(limit - messages))
            }
            nextSlot = pacer.nextSlot(after: nextSlot, atElapsed: elapsed)
            let due = pacer.slotsDue(atElapsed: elapsed)
            guard due > nextSlot else {
                let wait = pacer.dueTime(ofSlot: nextSlot) - elapsed
                try? await Task.sleep(for: .seconds(max(wait, 0.0005)))
                continue
            }
            let slots = Int(min(due - nextSlot, allowed))
            let scheduledAt = startedAt + .seconds(pacer.dueTime(ofSlot: nextSlot))
            nextSlot += Int64(slots)

            let wallClock = Date()
            let timestamp = Timestamp(wallClock)
            var batch: [PendingMessage] = []
            batch.reserveCapacity(slots)
            var used = 0
            if !probeKinds.isEmpty, now >= nextProbeAt {
                nextProbeAt = now + probeInterval
                probeSerial += 1
                probesOwed = probeKinds
            }
            while used < slots, !probesOwed.isEmpty {
                let kind = probesOwed.removeFirst()
                batch.append(
                    dispatcher.message(
                        routingKey: kind.canaryRoutingKey, body: LagProbe.body(canaryID: canaryID, serial: probeSerial),
                        sentAt: wallClock, role: .probe(kind, serial: probeSerial)))
                used += 1
            }
            while used < slots {
                used += 1
                switch fleet.next(now: timestamp, elapsedSeconds: elapsed) {
                case .silent:
                    continue
                case .log(let slot, let log, let insertedAt):
                    batch.append(
                        dispatcher.message(
                            routingKey: slot.kind.logRoutingKey, body: log.body, sentAt: wallClock,
                            role: .log(slot, .init(insertedAt: insertedAt, contribution: log.contribution))))
                case .malformed(_, _, let routingKey, let body):
                    batch.append(
                        dispatcher.message(routingKey: routingKey, body: body, sentAt: wallClock, role: .malformed))
                }
            }
            messages += batch.count
            try await ensureConnected(publisher)
            await dispatcher.dispatch(batch, scheduledAt: pacer.isPaced ? scheduledAt : nil, in: &group)
        }
    }

    /// After a lost connection the publisher refuses publishes until it has reconnected; wait for that rather
    /// than burn the fleet's turns on refusals, and give up if the broker stays away longer than the reconnect
    /// timeout.
    private func ensureConnected(_ publisher: AMQPPublisher) async throws(LoadError) {
        switch publisher.status {
        case .connected, .blocked: return
        default: break
        }
        logger.warning(
            "publisher disconnected; waiting for it to reconnect",
            metadata: ["timeout": "\(configuration.reconnectTimeout)"])
        do {
            try await publisher.waitUntilConnected(timeout: configuration.reconnectTimeout)
        } catch {
            throw .brokerLost(url: configuration.amqp.redactedURL, reason: error.description)
        }
    }
}
