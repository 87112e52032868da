import AMQP
import BrokerTestSupport
import Foundation
import MinerIndexService
import Synchronization
import Testing

@Suite(.serialized) struct BadInputEndToEndTests {
    @Test func everyKindOfBadMessageIsDeadLetteredWithItsReasonAndGoodOnesStillApply() async throws {
        let harness = try ServiceHarness()
        try await harness.start()

        var goodLog = Messages.asicLog(id: 1, hashrate: 1)
        let oversized = Array(repeating: UInt8(ascii: " "), count: 70_000) + Array("{}".utf8)
        let huge = Array(repeating: UInt8(ascii: "x"), count: 10 * 1024 * 1024)
        var missing = goodLog
        missing["hashrate_uom"] = nil
        var wrongType = goodLog
        wrongType["power"] = "lots"
        var negative = goodLog
        negative["power"] = -5
        var unknownUnit = goodLog
        unknownUnit["hashrate_uom"] = "ZH/s"

        let bad: [(id: String, routingKey: String, body: [UInt8], reason: String)] = [
            ("not-json", "asic_miner.log", Array("this is not json".utf8), "body: "),
            ("missing", "asic_miner.log", try json(missing), "hashrate_uom: missing required field"),
            ("wrong-type", "asic_miner.log", try json(wrongType), "power: "),
            ("negative", "asic_miner.log", try json(negative), "power: must be a finite non-negative number"),
            ("unknown-unit", "asic_miner.log", try json(unknownUnit), "hashrate_uom: unknown unit 'ZH/s'"),
            (
                "unknown-key", "asic_miner.explode", try json(goodLog),
                "routing_key: unknown routing key 'asic_miner.explode'"
            ),
            ("oversized", "asic_miner.log", oversized, "body: 70002 bytes exceeds the 65536-byte limit"),
            ("huge", "cpu_gpu_miner.log", huge, "body: 10485760 bytes exceeds the 65536-byte limit"),
        ]
        var goodIds: [Int] = []
        for (index, message) in bad.enumerated() {
            try await harness.publish(message.routingKey, raw: message.body, messageID: message.id)
            goodLog = Messages.asicLog(id: 100 + index, hashrate: 1)
            try await harness.publish("asic_miner.log", goodLog)
            goodIds.append(100 + index)
        }

        let alive = "\(goodIds.count)/\(goodIds.count)"
        let applied = await harness.waitForSnapshot(on: harness.configuration.outputExchanges.asicAggregatedIndex) {
            $0["asic_miner_alive"] as? String == alive
        }
        #expect(applied != nil, "the good messages were not all applied")

        let deadLetters = await readDeadLetters(of: harness, atLeast: bad.count)
        for message in bad {
            let deadLetter = try #require(deadLetters[message.id], "\(message.id) not dead-lettered")
            let reason = deadLetter.properties.headers["x-miner-index-error"]?.stringValue ?? ""
            #expect(reason.hasPrefix(message.reason), "\(message.id): \(reason)")
            #expect(deadLetter.properties.headers["x-original-routing-key"]?.stringValue == message.routingKey)
            #expect(deadLetter.body == message.body)
        }
        #expect(deadLetters.count == bad.count)
        if case .consuming = harness.service.consumer.status {
        } else {
            Issue.record("service stopped consuming: \(harness.service.consumer.status)")
        }
        await harness.tearDown()
    }

    @Test func aLogOrUpsertForANewIdBeyondMaxMinersIsDeadLetteredAndTheRegisteredMinersStillApply() async throws {
        let harness = try ServiceHarness { $0.maxMiners = 3 }
        try await harness.start()
        for id in 1...3 { try await harness.publish("asic_miner.log", Messages.asicLog(id: id, hashrate: 1)) }
        try await harness.publish(
            "asic_miner.log", raw: try json(Messages.asicLog(id: 4, hashrate: 1)), messageID: "log-4")
        try await harness.publish("asic_miner.upsert", raw: try json(Messages.asicMiner(id: 5)), messageID: "upsert-5")
        // A known id still applies after the refusals.
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 7))

        let applied = await harness.waitForSnapshot(on: harness.configuration.outputExchanges.asicAggregatedIndex) {
            $0["asic_miner_alive"] as? String == "3/3"
                && (($0["coin_hashrate_map"] as? [String: Any])?["Bitcoin"] as? [Any])?.first as? Double == 9
        }
        #expect(applied != nil, "the three registered miners were not all applied")

        let deadLetters = await readDeadLetters(of: harness, atLeast: 2)
        for id in ["log-4", "upsert-5"] {
            let deadLetter = try #require(deadLetters[id], "\(id) not dead-lettered")
            #expect(
                deadLetter.properties.headers["x-miner-index-error"]?.stringValue
                    == "registry full: 3 asic_miners registered already")
        }
        #expect(deadLetters.count == 2)
        await harness.tearDown()
    }

    /// The dead-letter queue's messages by message id, once at least `count` arrived (or the wait timed out).
    private func readDeadLetters(of harness: ServiceHarness, atLeast count: Int) async -> [String: AMQP.Delivery] {
        let deadLetters = Mutex<[String: AMQP.Delivery]>([:])
        let reader = AMQPConsumer(
            settings: harness.configuration.amqp,
            configuration: .init(queue: harness.configuration.deadLetterQueue, prefetch: 100),
            logger: TestBroker.logger)
        reader.start()
        let reading = Task {
            for await delivery in reader.deliveries {
                deadLetters.withLock { $0[delivery.properties.messageID ?? "?"] = delivery }
                reader.ack(delivery.tag)
            }
        }
        #expect(await eventually { deadLetters.withLock { $0.count } >= count })
        await reader.close()
        reading.cancel()
        return deadLetters.withLock { $0 }
    }

    private func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }
}
