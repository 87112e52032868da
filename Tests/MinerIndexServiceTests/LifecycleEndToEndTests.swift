import AMQP
import BrokerTestSupport
import Foundation
import MinerIndexService
import Testing

@Suite(.serialized) struct LifecycleEndToEndTests {
    @Test func gracefulShutdownPublishesFinalSnapshotsAndLeavesNothingUnackedButUnapplied() async throws {
        let harness = try ServiceHarness {
            $0.broadcastInterval = .seconds(5); $0.idleBroadcastInterval = .seconds(60)
        }
        try await harness.start()
        let exchanges = harness.configuration.outputExchanges

        let total = 3000
        try await harness.publishAll(
            (1...total).map { (routingKey: "asic_miner.log", object: Messages.asicLog(id: $0, hashrate: 1)) })
        let shutdownAt = ContinuousClock.now
        try await harness.shutdown()

        #expect(harness.service.consumer.status == .closed)
        #expect(harness.service.publisher.status == .closed)
        #expect(harness.service.fullIndexPublisher.status == .closed)
        let finalSnapshots = await eventually(timeout: .seconds(10)) {
            exchanges.all.allSatisfy { exchange in
                harness.snapshots(on: exchange).contains { $0.receivedAt >= shutdownAt }
            }
        }
        #expect(finalSnapshots, "a final snapshot is missing on some exchange")

        let live = try #require(
            harness.snapshots(on: exchanges.asicAggregatedIndex).last?.json["asic_miner_alive"] as? String)
        let applied = Int(live.split(separator: "/")[0]) ?? -1
        let leftInQueue = try await AMQPAdmin.withChannel(harness.configuration.amqp) {
            [queue = harness.configuration.queue] channel throws(AMQPError) in
            try channel.inspectQueue(queue).messageCount
        }
        // Every log was either applied (and so acknowledged) or is still in the queue for the next instance.
        #expect(applied + Int(leftInQueue) == total, "applied \(applied), left \(leftInQueue)")
        await harness.tearDown()
    }

    @Test func afterTheBrokerClosesEveryConnectionSnapshotsResumeAndNewLogsApply() async throws {
        let harness = try ServiceHarness()
        try await harness.start()
        let exchange = harness.configuration.outputExchanges.asicAggregatedIndex

        try await harness.publish("asic_miner.log", Messages.asicLog(id: 1, hashrate: 5))
        #expect(await harness.waitForSnapshot(on: exchange) { $0["asic_miner_alive"] as? String == "1/1" } != nil)

        try TestBroker.rabbitmqctl("close_all_connections", "service recovery test")
        let resumed = await eventually(timeout: .seconds(30)) {
            (try? await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 5))) != nil
        }
        #expect(resumed)
        let afterRecovery = await harness.waitForSnapshot(on: exchange, timeout: .seconds(30)) {
            $0["asic_miner_alive"] as? String == "2/2"
        }
        #expect(afterRecovery != nil, "state was lost or new logs were not applied after reconnecting")
        await harness.tearDown()
    }
}
