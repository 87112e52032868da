import AMQP
import BrokerTestSupport
import Foundation
import Logging
import MinerIndex
import MinerIndexService
import Testing

@testable import MinerLoadKit

/// The keyframe-and-delta protocol against a real miner-index, in-process, on the real broker: the reference
/// subscriber rebuilds each full index and must end up equal to a fresh keyframe.
@Suite(.serialized) struct IndexStreamEndToEndTests {
    var logger: Logger { TestBroker.logger }

    private func subscriber(
        _ service: InProcessService, _ kind: MinerKind, keyframes: IndexStreamSubscriber.Keyframes = .whenWanted,
        requestRetry: Duration = .seconds(2)
    ) -> IndexStreamSubscriber {
        let exchanges = service.configuration.outputExchanges
        return IndexStreamSubscriber(
            settings: service.configuration.amqp, kind: kind,
            exchanges: .init(
                keyframe: kind == .asic ? exchanges.asicIndex : exchanges.cpuGpuIndex,
                delta: kind == .asic ? exchanges.asicDeltaExchange : exchanges.cpuGpuDeltaExchange,
                keyframeRequests: exchanges.keyframeRequests),
            keyframes: keyframes, requestRetry: requestRetry, backoff: TestBroker.fastBackoff, logger: logger)
    }

    /// A run of a small churning fleet with registrations and deletions, without `--verify`'s own subscribers.
    private func load(_ service: InProcessService, seconds: Int64, miners: Int = 30) async throws -> LoadSummary {
        let configuration = service.loadConfiguration().make { configuration in
            configuration.asicCount = miners
            configuration.cpuGpuCount = miners / 2
            configuration.reportInterval = .milliseconds(300)
            configuration.register = true
            configuration.deactivatedFraction = 0.1
            configuration.churn = .init(fraction: 0.3, silence: .seconds(2))
            configuration.length = .duration(.seconds(seconds))
            configuration.verification = nil
        }
        return try await LoadRun(configuration: configuration, showsProgress: false, logger: logger).run()
    }

    @Test func aLateSubscriberAsksForAKeyframeAndFollowsTheDeltas() async throws {
        // No periodic keyframe during the test: only the one at start-up (before the subscriber joins) and the
        // ones asked for.
        let service = try InProcessService(offlineAfter: .seconds(2)) { $0.keyframeInterval = .seconds(3600) }
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let running = Task { try await load(service, seconds: 5) }
            // Joins late: once the fleet is live.
            #expect(
                await eventually { await service.service.indexes.asic.versionedAggregate().aggregate.liveCount > 0 })

            let asic = subscriber(service, .asic)
            try await asic.start(timeout: .seconds(10))
            #expect(await eventually(timeout: .seconds(10)) { asic.assembler.index != nil })
            _ = try await running.value
            // The fleet falls silent: every log expires, and only deltas can tell the subscriber.
            #expect(await eventually(timeout: .seconds(15)) { asic.assembler.index?.logs.isEmpty == true })
            let check = try #require(await asic.checkAgainstFreshKeyframe(timeout: .seconds(10)))
            let counters = asic.assembler.counters
            await asic.close()

            #expect(check.matched, "\(check.difference ?? "")")
            #expect(counters.deltas > 5)
            #expect(counters.gaps == 0)
            #expect(asic.requestsSent >= 2)
            #expect(asic.assembler.index?.miners.isEmpty == false)
        }
    }

    @Test func aGapIsMendedByAKeyframe() async throws {
        let service = try InProcessService(offlineAfter: .seconds(2)) { $0.keyframeInterval = .seconds(3600) }
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let cpuGpu = subscriber(service, .cpuGpu, requestRetry: .milliseconds(300))
            try await cpuGpu.start(timeout: .seconds(10))
            let running = Task { try await load(service, seconds: 5) }

            #expect(await eventually(timeout: .seconds(10)) { cpuGpu.assembler.counters.deltas >= 3 })
            let keyframesBefore = cpuGpu.assembler.counters.keyframes
            cpuGpu.dropNextDeltaMessage()
            #expect(await eventually(timeout: .seconds(10)) { cpuGpu.assembler.counters.gaps == 1 })
            #expect(
                await eventually(timeout: .seconds(10)) {
                    cpuGpu.assembler.counters.keyframes > keyframesBefore && cpuGpu.assembler.index != nil
                })
            _ = try await running.value
            let check = try #require(await cpuGpu.checkAgainstFreshKeyframe(timeout: .seconds(10)))
            await cpuGpu.close()
            #expect(check.matched, "\(check.difference ?? "")")
        }
    }

    @Test func aDeltaThatCouldNotBePublishedStartsTheChainAgainFromAKeyframe() async throws {
        // Neither the keyframe interval nor requests can cause a keyframe here: only the failed delta can.
        let service = try InProcessService(offlineAfter: .seconds(60)) { $0.keyframeInterval = .seconds(3600) }
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let asic = subscriber(service, .asic, keyframes: .all, requestRetry: .seconds(3600))
            try await asic.start(timeout: .seconds(10))
            let running = Task { try await load(service, seconds: 6, miners: 8) }
            #expect(await eventually(timeout: .seconds(10)) { asic.assembler.counters.deltas >= 2 })
            let keyframesBefore = asic.assembler.counters.keyframes

            // Deltas then fail (the broker refuses a publish to a missing exchange): the encoder has already counted
            // their changed fields as sent, so the chain must start again from a keyframe, which still goes out.
            let deltaExchange = asic.exchanges.delta
            try await AMQPAdmin.withChannel(service.configuration.amqp) { channel throws(AMQPError) in
                try channel.deleteExchange(deltaExchange)
            }
            #expect(await eventually(timeout: .seconds(10)) { asic.assembler.counters.keyframes > keyframesBefore })
            _ = try await running.value
            await asic.close()
            #expect(asic.assembler.counters.gaps == 0)
        }
    }

    @Test func manyRequestsInOneIntervalGetOneKeyframe() async throws {
        // A long interval, so that a burst of requests published at once falls within one.
        let service = try InProcessService(offlineAfter: .seconds(60)) {
            $0.broadcastInterval = .seconds(2)
            $0.idleBroadcastInterval = .seconds(3600)
            $0.keyframeInterval = .seconds(3600)
        }
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let asic = subscriber(service, .asic, keyframes: .all, requestRetry: .seconds(3600))
            try await asic.start(timeout: .seconds(10))
            #expect(await eventually(timeout: .seconds(10)) { asic.assembler.index != nil })
            let keyframesBefore = asic.assembler.counters.keyframes

            let requests = AMQPPublisher(settings: service.configuration.amqp, logger: logger)
            requests.start()
            try await requests.waitUntilConnected(timeout: .seconds(10))
            let exchange = service.configuration.outputExchanges.keyframeRequests
            let burst = (0..<50).map { _ in
                OutgoingMessage(
                    exchange: exchange, routingKey: "",
                    body: Array(#"{"exchange": "\#(asic.exchanges.keyframe)"}"#.utf8))
            }
            for result in await requests.publish(burst) { _ = try result.get() }
            await requests.close()
            #expect(await eventually(timeout: .seconds(10)) { asic.assembler.counters.keyframes > keyframesBefore })

            // Each tick publishes at most one delta, before its keyframe if any: once two deltas have followed the
            // first answer, any keyframe the burst caused in a later tick has arrived.
            let deltasAtAnswer = asic.assembler.counters.deltas
            _ = try await load(service, seconds: 5, miners: 4)
            #expect(await eventually(timeout: .seconds(10)) { asic.assembler.counters.deltas >= deltasAtAnswer + 2 })
            let answered = asic.assembler.counters.keyframes - keyframesBefore
            await asic.close()
            #expect(answered == 1, "\(answered) keyframes answered 50 requests sent within one interval")
        }
    }

    @Test func aKeyframeLargerThanTheLimitComesInPartsAndIsJoined() async throws {
        let limit = 16 * 1024
        let service = try InProcessService(offlineAfter: .seconds(60)) {
            $0.maxMessageBytes = limit
            $0.keyframeInterval = .seconds(2)
        }
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let asic = subscriber(service, .asic)
            try await asic.start(timeout: .seconds(10))
            _ = try await load(service, seconds: 3, miners: 200)

            let check = try #require(await asic.checkAgainstFreshKeyframe(timeout: .seconds(10)))
            let assembler = asic.assembler
            await asic.close()
            #expect(check.matched, "\(check.difference ?? "")")
            #expect(assembler.counters.splitMessages > 0)
            #expect(assembler.counters.largestMessagePart <= limit)
            #expect((assembler.index?.miners.count ?? 0) > 100)
        }
    }

    @Test func aSubscriberHoldingTheIndexTakesNoKeyframeItDidNotAskFor() async throws {
        let service = try InProcessService(offlineAfter: .seconds(60)) { $0.keyframeInterval = .seconds(1) }
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let wanting = subscriber(service, .asic)
            let everything = subscriber(service, .asic, keyframes: .all)
            try await wanting.start(timeout: .seconds(10))
            try await everything.start(timeout: .seconds(10))
            _ = try await load(service, seconds: 4, miners: 20)
            #expect(await eventually(timeout: .seconds(10)) { everything.assembler.counters.keyframes >= 5 })

            // Its own keyframe, plus at most one the service had already routed to it when the unbind took effect.
            let taken = wanting.assembler.counters.keyframes
            #expect(
                taken >= 1 && taken <= 2,
                "\(taken) keyframes taken while the service sent one a second; \(wanting.requestsSent) requests, \(wanting.assembler.counters)"
            )
            // Asked for again, one comes, and the rebuilt index still matches it.
            let check = try #require(await wanting.checkAgainstFreshKeyframe(timeout: .seconds(10)))
            #expect(check.matched, "\(check.difference ?? "")")
            await wanting.close()
            await everything.close()
        }
    }
}
