import AMQP
import Foundation
import Testing

@Suite struct WireLimitsTests {
    private func message(
        routingKey: String = "asic_miner.log", properties: MessageProperties = .init()
    ) -> OutgoingMessage {
        OutgoingMessage(exchange: "in", routingKey: routingKey, body: [], properties: properties)
    }

    private func nested(_ levels: Int) -> FieldTable {
        var value: FieldValue = .void
        for _ in 1..<levels { value = .array([value]) }
        return ["deep": value]
    }

    @Test func aMessageWithinEveryLimitIsPublishable() {
        let properties = MessageProperties(
            contentType: String(repeating: "c", count: 255), messageID: String(repeating: "m", count: 255),
            timestamp: Date(), type: "t", deliveryMode: .persistent,
            headers: [String(repeating: "k", count: 255): .string(String(repeating: "v", count: 100_000))]
                .merging(nested(WireLimits.maximumNestingDepth)) { $1 },
            contentEncoding: "gzip", correlationID: "c", appID: "a", priority: 9)
        #expect(
            message(routingKey: String(repeating: "r", count: 255), properties: properties)
                .unpublishableReason(frameMax: 131_072) == nil)
    }

    @Test func shortStringsOverTwoHundredFiftyFiveBytesAreRefused() {
        let long = String(repeating: "\u{FFFD}", count: 86)  // 258 bytes
        let cases: [OutgoingMessage] = [
            message(routingKey: long),
            OutgoingMessage(exchange: long, routingKey: "", body: []),
            message(properties: .init(contentType: long)),
            message(properties: .init(messageID: long)),
            message(properties: .init(type: long)),
            message(properties: .init(contentEncoding: long)),
            message(properties: .init(correlationID: long)),
            message(properties: .init(appID: long)),
            message(properties: .init(headers: [long: 1])),
            message(properties: .init(headers: ["outer": .table([long: 1])])),
        ]
        for refused in cases {
            let reason = refused.unpublishableReason(frameMax: 131_072)
            #expect(reason?.contains("over the AMQP limit of 255") == true, "\(String(describing: reason))")
        }
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let reason = message(properties: .init(headers: nested(WireLimits.maximumNestingDepth + 1)))
            .unpublishableReason(frameMax: 131_072)
        #expect(reason?.contains("nest deeper than 64") == true)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteDoublesAreRefusedBecauseRabbitMQCannotReadThem(_ number: Double) {
        #expect(
            message(properties: .init(headers: ["x": .array([.double(number)])]))
                .unpublishableReason(frameMax: 131_072) != nil)
    }

    @Test func propertiesThatDoNotFitOneFrameAreRefusedAtTheExactSize() {
        // Frame: 8 overhead + 14 fixed; headers table: 4 + (1 + 1 + 1 + 4 + n) for one string header.
        let fits = 131_072 - 8 - 14 - 4 - 7
        let exact = message(properties: .init(headers: ["k": .string(String(repeating: "v", count: fits))]))
        #expect(exact.unpublishableReason(frameMax: 131_072) == nil)
        let over = message(properties: .init(headers: ["k": .string(String(repeating: "v", count: fits + 1))]))
        #expect(over.unpublishableReason(frameMax: 131_072)?.contains("131072") == true)
    }
}

@Suite struct TimestampPropertyTests {
    @Test func timestampsReadUpToTheYear9999AndAreAbsentBeyond() {
        #expect(MessageProperties.date(fromTimestamp: 0) == Date(timeIntervalSince1970: 0))
        #expect(MessageProperties.date(fromTimestamp: 253_402_300_799) == Date(timeIntervalSince1970: 253_402_300_799))
        for absent: UInt64 in [253_402_300_800, 1_764_000_000_000, 1 << 62, UInt64(Int64.max), 1 << 63, .max] {
            #expect(MessageProperties.date(fromTimestamp: absent) == nil, "\(absent)")
        }
    }

    @Test func anyDateWritesAsATimestampWithinTheReadableRange() {
        #expect(MessageProperties.timestamp(from: Date(timeIntervalSince1970: 1_764_000_000.9)) == 1_764_000_000)
        #expect(MessageProperties.timestamp(from: Date(timeIntervalSince1970: -5)) == 0)
        #expect(MessageProperties.timestamp(from: Date(timeIntervalSince1970: .nan)) == 0)
        #expect(MessageProperties.timestamp(from: Date(timeIntervalSince1970: 1e300)) == 253_402_300_799)
        #expect(MessageProperties.timestamp(from: Date(timeIntervalSince1970: .infinity)) == 253_402_300_799)
    }
}
