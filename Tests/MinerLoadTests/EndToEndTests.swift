import AMQP
import BrokerTestSupport
import Foundation
import Logging
import MinerIndex
import Testing

@testable import MinerLoadKit

/// miner-load against a real miner-index, in-process, on the real broker.
@Suite(.serialized) struct EndToEndTests {
    var logger: Logger { TestBroker.logger }

    @Test func aVerifiedRunWithRegistrationChurnAndBadMessagesPasses() async throws {
        let service = try InProcessService(offlineAfter: .seconds(3))
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let configuration = service.loadConfiguration().make { configuration in
                configuration.asicCount = 30
                configuration.cpuGpuCount = 20
                configuration.reportInterval = .milliseconds(500)
                configuration.register = true
                configuration.deactivatedFraction = 0.1
                configuration.churn = .init(fraction: 0.3, silence: .seconds(4))
                configuration.badFraction = 0.05
                configuration.length = .duration(.seconds(5))
            }
            let summary = try await LoadRun(configuration: configuration, showsProgress: false, logger: logger).run()
            let verification = try #require(summary.verification)

            #expect(verification.passed, "\(summary.text())")
            // The fleet-health figures were checked too, while miners were live (once every miner has expired, any
            // figure matches): some miners were deactivated, and every ASIC has a coin's power.
            #expect(verification.kinds.allSatisfy { $0.observed.map { $0.live != "0" } ?? false }, "\(summary.text())")
            let asic = try #require(verification.kinds.first { $0.kind == .asic })
            #expect(asic.observed?.offlineAndDisabled.hasSuffix("/0") == false, "\(summary.text())")
            #expect(asic.observed?.coinPower.isEmpty == false)
            #expect(asic.observed?.maxTemperature != "null")
            #expect(verification.kinds.map(\.kind) == [.asic, .cpuGpu])
            #expect(verification.kinds.allSatisfy { $0.snapshotsReceived > 0 && $0.indexSnapshotsReceived > 0 })
            #expect(verification.lag.samples > 0)
            // Both kinds are probed all along, even when the pace gives a batch room for one message only.
            #expect(verification.kinds.allSatisfy { $0.lag.samples >= 5 }, "\(verification.kinds.map(\.lag.samples))")
            // The reference subscriber rebuilt both full indexes from keyframes and deltas, equal to a fresh keyframe.
            for kind in verification.kinds {
                let rebuilt = try #require(kind.rebuiltIndex)
                #expect(rebuilt.matched && rebuilt.deltas > 0 && rebuilt.keyframeSequence != nil, "\(summary.text())")
            }
            #expect(summary.text().contains("deltas, 0 gaps"))
            #expect(summary.counts.upserts == 50)
            #expect(summary.counts.malformed > 0)
            #expect(summary.counts.confirmed == summary.counts.sent)
            // Every malformed message was dead-lettered by the service, none applied.
            let malformed = summary.counts.malformed
            #expect(try await eventually(timeout: .seconds(10)) { try await service.deadLetterCount() == malformed })
        }
    }

    /// The lag probes are canaries: the service shows them under `canaries` and counts them nowhere. Its figures
    /// after a probed run equal, byte for byte as published, those of the same registry and logs applied to a
    /// fresh index without a probe.
    @Test func lagProbesLeaveEveryFleetFigureAsTheFleetAloneMakesIt() async throws {
        let service = try InProcessService(offlineAfter: .seconds(60))
        let (asic, rigs) = try await withTearDown {
            await service.stop()
        } body: {
            try await service.start()
            let configuration = service.loadConfiguration().make { configuration in
                configuration.asicCount = 30
                configuration.cpuGpuCount = 20
                configuration.reportInterval = .milliseconds(500)
                configuration.register = true
                configuration.deactivatedFraction = 0.1
                configuration.length = .duration(.seconds(3))
            }
            let summary = try await LoadRun(configuration: configuration, showsProgress: false, logger: logger).run()
            let verification = try #require(summary.verification)
            #expect(verification.passed, "\(summary.text())")
            #expect(summary.counts.probes > 0 && verification.lag.samples > 0, "\(summary.text())")
            return (await service.service.indexes.asic.snapshot(), await service.service.indexes.cpuGpu.snapshot())
        }
        #expect(asic.registry.entries.count == 30 && rigs.registry.entries.count == 20, "no probe miner registered")
        for probed in [asic.aggregate(), rigs.aggregate()] {
            #expect(probed.canaries.count == 1 && probed.canaries.first?.id.hasPrefix("miner-load-") == true)
            #expect(probed.canaries.first.map { $0.sequence > 0 } == true)
        }

        let now = Timestamp(Date())
        let freshAsic = AsicMinerOperationalIndex()
        for (_, entry) in asic.registry.entries { await freshAsic.upsert(entry.miner) }
        for (_, entry) in asic.operational { await freshAsic.put(entry.log, receivedAt: now) }
        let freshRigs = CpuGpuMinerOperationalIndex()
        for (_, entry) in rigs.registry.entries { await freshRigs.upsert(entry.miner) }
        for (_, entry) in rigs.operational { await freshRigs.put(entry.log, receivedAt: now) }

        try expectSamePayload(asic.aggregate(), await freshAsic.versionedAggregate().aggregate, .asicMiner)
        try expectSamePayload(rigs.aggregate(), await freshRigs.versionedAggregate().aggregate, .cpuGpuMiner)
    }

    /// The aggregated payloads as published, but for the canaries, the sequence and the time.
    private func expectSamePayload(
        _ probed: MinerAggregate, _ unprobed: MinerAggregate, _ vocabulary: PayloadVocabulary
    ) throws {
        let encoder = MinerPayloadEncoder<AsicMiner, AsicMinerLog>(vocabulary: vocabulary, cachesRecords: false)
        func payload(_ aggregate: MinerAggregate) throws -> [String: Any] {
            let bytes = encoder.aggregatedPayload(
                aggregate, sequence: 1, generatedAt: Timestamp(microsecondsSinceEpoch: 0))
            var object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            object["canaries"] = nil
            return object
        }
        // The payloads, not the aggregates, are compared: the probed index added and took away each miner's figures
        // once per report, the fresh one once in all, so a running sum may differ in its last bit, never as written.
        #expect(NSDictionary(dictionary: try payload(probed)) == NSDictionary(dictionary: try payload(unprobed)))
        #expect(probed.registeredCount == unprobed.registeredCount && probed.liveCount == unprobed.liveCount)
        #expect(probed.health.statusCounts == unprobed.health.statusCounts, "every status count")
        #expect(probed.coinHashrates.keys.allSatisfy { !$0.lowercased().contains("probe") })
    }

    @Test func aMismatchFailsTheVerificationWithTheDifferences() async throws {
        // The service expires a silent miner after 1 s, but miner-load is told 60 s. Every miner churns, silent
        // for 4 s at a time, so at the end of the run the service has dropped miners that miner-load still
        // expects to be live.
        let service = try InProcessService(offlineAfter: .seconds(1))
        try await service.start()
        try await withTearDown {
            await service.stop()
        } body: {
            let configuration = service.loadConfiguration(verifyOfflineAfter: .seconds(60)).make { configuration in
                configuration.asicCount = 20
                configuration.cpuGpuCount = 20
                configuration.reportInterval = .milliseconds(250)
                configuration.churn = .init(fraction: 1, silence: .seconds(4))
                configuration.length = .duration(.seconds(6))
                configuration.verification?.timeout = .seconds(3)
            }
            let summary = try await LoadRun(configuration: configuration, showsProgress: false, logger: logger).run()
            let verification = try #require(summary.verification)
            #expect(!verification.passed)
            #expect(!summary.succeeded)
            #expect(
                verification.kinds.contains { kind in
                    kind.differences.contains { $0.hasPrefix("live miners: expected") }
                })
            #expect(
                verification.kinds.contains { kind in
                    kind.differences.contains { $0.hasPrefix("status_counts.offline: expected") }
                })
            #expect(summary.text().contains("verify: FAILED"))
        }
    }

    @Test func anUnreachableBrokerFailsWithAClearMessage() async throws {
        var configuration = LoadConfiguration(amqp: try ConnectionSettings(url: "amqp://guest:topsecret@127.0.0.1:1/"))
        configuration.connectTimeout = .milliseconds(500)
        configuration.length = .count(10)
        do {
            _ = try await LoadRun(configuration: configuration, showsProgress: false, logger: logger).run()
            Issue.record("a run without a broker succeeded")
        } catch {
            guard case .brokerUnreachable = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(error.description.hasPrefix("cannot reach the broker at amqp://guest:***@127.0.0.1:1/"))
            #expect(!error.description.contains("topsecret"))
        }
    }

    /// A run to an exchange no queue is bound to.
    private func runToNobody(messages: Int, verification: LoadConfiguration.Verification?) async throws -> LoadSummary {
        var configuration = LoadConfiguration(amqp: try TestBroker.settings)
        configuration.exchange = TestBroker.uniqueName("load.nobody")
        configuration.asicCount = 5
        configuration.cpuGpuCount = 5
        configuration.rate = .unlimited
        configuration.length = .count(messages)
        configuration.verification = verification
        let summary = try await LoadRun(configuration: configuration, showsProgress: false, logger: logger).run()
        let exchange = configuration.exchange
        _ = try? await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
            try channel.deleteExchange(exchange)
        }
        return summary
    }

    @Test func aVerifiedRunWhoseMessagesReachNoQueueFails() async throws {
        var verification = LoadConfiguration.Verification()
        verification.timeout = .milliseconds(500)
        verification.checksRebuiltIndex = false
        let summary = try await runToNobody(messages: 100, verification: verification)
        let report = try #require(summary.verification)
        #expect(!report.passed && !summary.succeeded)
        #expect(
            report.failures.first?.hasPrefix(
                "\(summary.counts.unroutable) of \(summary.counts.sent) messages were unroutable") == true,
            "\(report.failures)")
        #expect(summary.text().contains("verify: FAILED, \(summary.counts.unroutable) of"))
    }

    @Test func withoutAServiceEveryMessageIsReportedUnroutable() async throws {
        let summary = try await runToNobody(messages: 200, verification: nil)
        #expect(summary.counts.sent == 200)
        #expect(summary.counts.unroutable == 200)
        #expect(summary.text().contains("is miner-index running"))
    }
}
