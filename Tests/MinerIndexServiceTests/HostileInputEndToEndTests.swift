import AMQP
import BrokerTestSupport
import Foundation
import MinerIndex
import MinerIndexService
import Synchronization
import Testing

/// The service against a hostile producer writing AMQP frames byte by byte: whatever a message carries, the process
/// stays up, keeps its connections, and every message the broker routed to the queue is either applied or
/// dead-lettered, exactly once.
@Suite(.serialized) struct HostileInputEndToEndTests {
    /// Seeded so that a failure reproduces: `FUZZ_SEED=<n>` runs another sequence.
    static let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? 12

    @Test func everyRoutedMessageIsAppliedOrDeadLetteredAndTheServiceKeepsItsConnections() async throws {
        let harness = try ServiceHarness()
        try await harness.start()
        let configuration = harness.configuration

        let plan = HostilePlan(seed: Self.seed, count: 3000)
        let outcomes = try await RawAMQPPublisher.withPublisher(configuration.amqp) { raw in
            try plan.messages.map { message in
                try raw.publish(
                    exchange: Array(configuration.inputExchange.utf8), routingKey: message.routingKey,
                    properties: message.properties, body: message.body)
            }
        }
        let routed = zip(plan.messages, outcomes).filter { $0.1 == .routed }.map(\.0)
        let mustApply = routed.compactMap(\.mustApply)
        // The plan has to exercise what it claims to, or a quiet broker refusal would make this test vacuous.
        #expect(routed.count > plan.messages.count * 3 / 4, "only \(routed.count) of \(plan.messages.count) routed")
        #expect(mustApply.count > 100)
        #expect(routed.filter(\.hasExtremeTimestamp).count > 20)
        #expect(routed.filter(\.isDeep).count > 5)

        let settled = await eventually(timeout: .seconds(60)) {
            let metrics = Metrics(harness)
            let deadLettered = (try? await deadLetterDepth(configuration)) ?? 0
            return metrics.sum("miner_index_messages_received_total") == Double(routed.count)
                && metrics.sum("miner_index_messages_applied_total") + Double(deadLettered) == Double(routed.count)
        }
        let metrics = Metrics(harness)
        let deadLettered = try await deadLetterDepth(configuration)
        #expect(
            settled,
            """
            seed \(Self.seed): routed \(routed.count), received \(metrics.sum("miner_index_messages_received_total")), \
            applied \(metrics.sum("miner_index_messages_applied_total")), dead-lettered \(deadLettered)
            """)
        #expect(metrics.sum("miner_index_redeliveries_total") == 0)
        #expect(metrics.sum("miner_index_reconnects_total") == 0, "a hostile message cost a connection")
        #expect(harness.service.consumer.status == .consuming(generation: 1))
        #expect(harness.service.publisher.status == .connected(generation: 1))

        for (kind, id) in mustApply {
            let applied =
                switch kind {
                case .asic: await harness.service.indexes.asic.entry(id) != nil
                case .cpuGpu: await harness.service.indexes.cpuGpu.entry(id) != nil
                }
            #expect(applied, "seed \(Self.seed): valid \(kind) log \(id) was not applied")
        }
        await harness.tearDown()
    }

    /// When the dead-letter copy cannot be published (here: a 255-byte message id or header name that is not
    /// UTF-8 grows past AMQP's 255-byte limit once repaired), the original is rejected without requeue, so the
    /// queue's own dead-letter exchange takes it, bytes intact.
    @Test func aMessageWhoseDeadLetterCopyCannotBePublishedIsRejectedIntoTheQueuesOwnDeadLetterExchange() async throws {
        let harness = try ServiceHarness()
        try await harness.start()
        let configuration = harness.configuration

        var unencodableID = RawAMQPPublisher.Properties()
        unencodableID.messageID = [UInt8](repeating: 0xFF, count: 255)
        var unencodableName = RawAMQPPublisher.Properties()
        unencodableName.messageID = Array("header-name".utf8)
        unencodableName.headers = [([UInt8](repeating: 0xC0, count: 255), .bool(true))]
        var copyable = RawAMQPPublisher.Properties()
        copyable.messageID = Array("copyable".utf8)
        let garbage = Array("not json".utf8)
        let messages = [unencodableID, unencodableName, copyable]
        let outcomes = try await RawAMQPPublisher.withPublisher(configuration.amqp) { raw in
            try messages.map {
                try raw.publish(
                    exchange: Array(configuration.inputExchange.utf8), routingKey: Array("asic_miner.log".utf8),
                    properties: $0, body: garbage)
            }
        }
        #expect(outcomes == [.routed, .routed, .routed])
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 1, hashrate: 1))

        let deadLetters = try await readDeadLetters(configuration, count: 3)
        let byID = Dictionary(deadLetters.map { ($0.properties.messageID ?? "?", $0) }, uniquingKeysWith: { $1 })
        for id in [String(repeating: "\u{FFFD}", count: 255), "header-name"] {
            let rejected = try #require(byID[id], "\(id.prefix(12)) did not reach the dead-letter queue")
            #expect(rejected.properties.headers["x-miner-index-error"] == nil)
            #expect(rejected.body == garbage)
            guard case .array(let deaths)? = rejected.properties.headers["x-death"],
                case .table(let death)? = deaths.first
            else {
                Issue.record("\(id.prefix(12)): no x-death header, so the broker did not dead-letter it")
                continue
            }
            #expect(death["reason"] == .string("rejected"))
            #expect(death["queue"] == .string(configuration.queue))
        }
        let copy = try #require(byID["copyable"])
        #expect(copy.properties.headers["x-miner-index-error"]?.stringValue?.hasPrefix("body: ") == true)
        #expect(copy.properties.headers["x-death"] == nil)
        #expect(
            await eventually {
                Metrics(harness).sum(
                    "miner_index_messages_dead_lettered_total{kind=\"asic_miner\",reason=\"invalid_json\"}") == 3
            }, "the two rejected into the queue's dead-letter exchange count as dead-lettered, like the copied one")

        #expect(await eventually { await harness.service.indexes.asic.entry(1) != nil })
        #expect(harness.service.publisher.status == .connected(generation: 1), "the copy cost the connection")
        #expect(harness.service.consumer.status == .consuming(generation: 1))
        #expect(try await deadLetterDepth(configuration) == 0)
        await harness.tearDown()
    }

    /// A log carrying a header without a name is valid, but rabbitmq-c cannot decode its delivery: the service
    /// rejects it to the queue's dead-letter exchange, counts it, reconnects once, and goes on applying.
    @Test func aDeliveryRabbitMQCCannotDecodeIsCountedAndDeadLetteredAndIngestGoesOn() async throws {
        let harness = try ServiceHarness()
        try await harness.start()
        let configuration = harness.configuration

        var properties = RawAMQPPublisher.Properties()
        properties.headers = [([], .int8(1))]
        let emptyName = properties
        let poison = HostilePlan.asicLog(id: 1)
        let outcome = try await RawAMQPPublisher.withPublisher(configuration.amqp) { raw in
            try raw.publish(
                exchange: Array(configuration.inputExchange.utf8), routingKey: Array("asic_miner.log".utf8),
                properties: emptyName, body: poison)
        }
        #expect(outcome == .routed)
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 1))

        #expect(await eventually { await harness.service.indexes.asic.entry(2) != nil })
        #expect(await eventually { (try? await deadLetterDepth(configuration)) == 1 })
        let metrics = Metrics(harness)
        #expect(metrics.sum("miner_index_messages_dead_lettered_total{kind=\"unknown\",reason=\"undecodable\"}") == 1)
        #expect(metrics.sum("miner_index_messages_received_total{kind=\"unknown\"}") == 1)
        #expect(metrics.sum("miner_index_reconnects_total{client=\"consumer\"}") == 1)
        #expect(await harness.service.indexes.asic.entry(1) == nil)
        #expect(harness.service.consumer.status == .consuming(generation: 2))
        await harness.tearDown()
    }

    private func deadLetterDepth(_ configuration: ServiceConfiguration) async throws -> UInt32 {
        try await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
            try channel.inspectQueue(configuration.deadLetterQueue).messageCount
        }
    }

    /// What reaches the dead-letter queue within 20 s, up to `count` messages.
    private func readDeadLetters(_ configuration: ServiceConfiguration, count: Int) async throws -> [AMQP.Delivery] {
        let reader = AMQPConsumer(
            settings: configuration.amqp,
            configuration: .init(queue: configuration.deadLetterQueue, prefetch: 100, backoff: TestBroker.fastBackoff),
            logger: TestBroker.logger)
        reader.start()
        let deliveries = Mutex<[AMQP.Delivery]>([])
        let reading = Task {
            for await delivery in reader.deliveries {
                deliveries.withLock { $0.append(delivery) }
                reader.ack(delivery.tag)
            }
        }
        _ = await eventually { deliveries.withLock { $0.count } >= count }
        await reader.close()
        reading.cancel()
        return deliveries.withLock { $0 }
    }
}

/// The counters of the in-process service, summed over their labels.
private struct Metrics {
    let text: String

    init(_ harness: ServiceHarness) {
        text = String(decoding: harness.prometheus.render(), as: UTF8.self)
    }

    /// Sums every series of `name`; a name with labels (`metric{label="value"}`) picks that one series.
    func sum(_ name: String) -> Double {
        text.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }
}

/// A seeded mix of valid logs and hostile messages. Valid bodies travel with hostile properties too: the property
/// that once killed the service (a `timestamp` of 2^62) rode on a perfectly good log.
struct HostilePlan {
    enum Kind: Sendable { case asic, cpuGpu }

    struct Message: Sendable {
        let routingKey: [UInt8]
        let properties: RawAMQPPublisher.Properties
        let body: [UInt8]
        /// A valid log with a fresh id and a current `inserted_at`, which the index must hold afterwards.
        let mustApply: (kind: Kind, id: Int64)?
        let hasExtremeTimestamp: Bool
        let isDeep: Bool
    }

    private(set) var messages: [Message] = []
    private var random: SplitMix64

    init(seed: UInt64, count: Int) {
        random = SplitMix64(state: seed)
        for index in 0..<count { messages.append(makeMessage(index)) }
    }

    static let extremeTimestamps: [UInt64] = [
        0, 1, 253_402_300_799, 253_402_300_800, 1_764_000_000_000, 1_764_000_000_000_000, 1 << 62,
        UInt64(Int64.max), 1 << 63, .max,
    ]

    private mutating func makeMessage(_ index: Int) -> Message {
        var properties = RawAMQPPublisher.Properties()
        var hasExtremeTimestamp = false
        if chance(0.7) {
            if chance(0.6) {
                properties.timestamp = pick(Self.extremeTimestamps)
                hasExtremeTimestamp = true
            } else {
                properties.timestamp = random.next()
                hasExtremeTimestamp = properties.timestamp ?? 0 > 253_402_300_799
            }
        }
        if chance(0.3) { properties.priority = UInt8.random(in: 0...255, using: &random) }
        if chance(0.3) { properties.deliveryMode = pick([1, 2]) }
        if chance(0.5) { properties.messageID = shortString() }
        if chance(0.3) { properties.correlationID = shortString() }
        if chance(0.3) { properties.contentType = pick([Array("application/json".utf8), [], shortString()]) }
        if chance(0.2) { properties.contentEncoding = shortString() }
        if chance(0.2) { properties.type = shortString() }
        if chance(0.2) { properties.appID = shortString() }
        if chance(0.2) { properties.replyTo = shortString() }
        if chance(0.1) { properties.clusterID = shortString() }
        if chance(0.1) { properties.userID = Array("guest".utf8) }
        // Long enough that nothing expires in the queue before the service reads it.
        if chance(0.1) { properties.expiration = Array("86400000".utf8) }
        var isDeep = false
        if chance(0.5) {
            var headers = (0..<Int.random(in: 0...12, using: &random)).map { _ in (headerName(), field(depth: 1)) }
            if chance(0.05) {
                isDeep = true
                headers.append(
                    (
                        Array("deep".utf8),
                        chance(0.5)
                            ? .nestedArrays(depth: Int.random(in: 65...25_000, using: &random))
                            : .nestedTables(depth: Int.random(in: 65...18_000, using: &random))
                    ))
            } else if chance(0.03) {
                headers += (0..<8_000).map { (Array("w\($0)".utf8), .int8(1)) }
            }
            properties.headers = headers
        }

        let kind: Kind = chance(0.5) ? .asic : .cpuGpu
        let id = Int64(1_000_000 + index)
        let valid: [UInt8] = kind == .asic ? Self.asicLog(id: id) : Self.cpuGpuLog(id: id)
        let logKey = Array((kind == .asic ? "asic_miner.log" : "cpu_gpu_miner.log").utf8)
        switch Double.random(in: 0..<1, using: &random) {
        case ..<0.45:
            return Message(
                routingKey: logKey, properties: properties, body: valid, mustApply: (kind, id),
                hasExtremeTimestamp: hasExtremeTimestamp, isDeep: isDeep)
        case ..<0.55:
            // Routed by `asic_miner.*`, unknown to the decoder: a long key, or one that is not UTF-8.
            let suffix = (0..<Int.random(in: 0...244, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random) == UInt8(ascii: ".") ? UInt8(ascii: "_") : pick(Self.keyBytes)
            }
            return Message(
                routingKey: Array("asic_miner.".utf8) + suffix, properties: properties, body: valid,
                mustApply: nil, hasExtremeTimestamp: hasExtremeTimestamp, isDeep: isDeep)
        default:
            return Message(
                routingKey: logKey, properties: properties, body: hostileBody(valid), mustApply: nil,
                hasExtremeTimestamp: hasExtremeTimestamp, isDeep: isDeep)
        }
    }

    private static let keyBytes: [UInt8] = Array(0x80...0xFF) + Array("abcxyz_-".utf8) + [0, 0xC3, 0x28]

    private mutating func hostileBody(_ valid: [UInt8]) -> [UInt8] {
        let text = String(decoding: valid, as: UTF8.self)
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            return (0..<Int.random(in: 0...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        case 1: return Array(valid.prefix(Int.random(in: 0..<valid.count, using: &random)))
        case 2:
            return Array(text.replacingOccurrences(of: "\"bitcoin\"", with: "\"bit\u{FFFF}coin\"").utf8)
                .map { $0 == 0xBF ? 0xFF : $0 }  // not UTF-8 inside a string
        case 3: return Array(text.replacingOccurrences(of: "\"power\":3000", with: "\"power\":1e400").utf8)
        case 4:
            let big = pick(["9223372036854775808", "-1", "1.5", "1e19", "18446744073709551616", "\"7\""])
            return Array(text.replacingOccurrences(of: "_id\":", with: "_id\":\(big),\"x\":").utf8)
        case 5:
            return Array(repeating: UInt8(ascii: "["), count: 20_000)
                + Array(repeating: UInt8(ascii: "]"), count: 20_000)
        case 6: return Array(repeating: UInt8(ascii: " "), count: 70_000) + valid
        case 7: return Array(text.replacingOccurrences(of: "T", with: "T99:").utf8)
        case 8: return Array(text.replacingOccurrences(of: "\"power\":3000", with: "\"power\":1e300").utf8)
        default: return Array(text.replacingOccurrences(of: "\"inserted_at\"", with: "\"inserted_at\":{},\"y\"").utf8)
        }
    }

    private mutating func field(depth: Int) -> RawAMQPPublisher.Field {
        let choice = Int.random(in: 0..<(depth < 4 ? 18 : 16), using: &random)
        switch choice {
        case 0: return .bool(chance(0.5))
        case 1: return .int8(Int8(truncatingIfNeeded: random.next()))
        case 2: return .uint8(UInt8(truncatingIfNeeded: random.next()))
        case 3: return .int16(Int16(truncatingIfNeeded: random.next()))
        case 4: return .uint16(UInt16(truncatingIfNeeded: random.next()))
        case 5: return .int32(Int32(truncatingIfNeeded: random.next()))
        case 6: return .uint32(UInt32(truncatingIfNeeded: random.next()))
        case 7: return .int64(Int64(bitPattern: random.next()))
        case 8:
            // RabbitMQ refuses NaN and infinities outright; every finite bit pattern is fair.
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
            return .float(value.isFinite ? value : 0)
        case 9:
            let value = Double(bitPattern: random.next())
            return .double(value.isFinite ? value : -0.0)
        case 10:
            return .decimal(
                scale: UInt8(truncatingIfNeeded: random.next()), value: UInt32(truncatingIfNeeded: random.next()))
        case 11: return .longString(shortString())
        case 12: return .bytes(shortString())
        case 13: return .timestamp(pick(Self.extremeTimestamps + [random.next()]))
        case 14: return .void
        case 15: return .longString([UInt8](repeating: 0xFF, count: Int.random(in: 0...2000, using: &random)))
        case 16:
            return .table(
                (0..<Int.random(in: 0...5, using: &random)).map { _ in (headerName(), field(depth: depth + 1)) })
        default: return .array((0..<Int.random(in: 0...5, using: &random)).map { _ in field(depth: depth + 1) })
        }
    }

    /// Up to 255 bytes: ASCII, bytes that are never UTF-8, NULs, and the longest allowed.
    private mutating func shortString() -> [UInt8] {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return Array("fuzz-\(random.next() % 1000)".utf8)
        case 1: return [UInt8](repeating: 0xFF, count: 255)
        case 2:
            return (0..<Int.random(in: 0...255, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        default: return [UInt8](repeating: UInt8(ascii: "a"), count: 255)
        }
    }

    /// Never empty: rabbitmq-c cannot decode a header without a name, which costs the consumer its connection
    /// (and redelivers what was in flight), so that case has tests of its own with exact expectations.
    private mutating func headerName() -> [UInt8] {
        let name = shortString()
        return name.isEmpty ? [0xFF] : name
    }

    private mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &random) < probability
    }

    private mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[Int.random(in: 0..<elements.count, using: &random)]
    }

    static func asicLog(id: Int64) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: Messages.asicLog(id: Int(id), hashrate: 1))) ?? Data())
    }

    static func cpuGpuLog(id: Int64) -> [UInt8] {
        let log = Messages.cpuGpuLog(id: Int(id), overrides: ["cpu_power": 10])
        return Array((try? JSONSerialization.data(withJSONObject: log)) ?? Data())
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
