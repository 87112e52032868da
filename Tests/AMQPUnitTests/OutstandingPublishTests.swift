import Testing

@testable import AMQP

@Suite struct OutstandingPublishTests {
    let message = OutgoingMessage(exchange: "", routingKey: "q", body: [1])

    /// Hands one request of `count` messages to `outstanding`, runs `settle`, and returns what its caller got.
    private func results(
        of count: Int, _ settle: @escaping (inout Outstanding, InFlightRequest) -> Void
    ) async -> [Result<PublishOutcome, AMQPError>] {
        await withCheckedContinuation { continuation in
            let request = AMQPPublisher.Request(
                messages: Array(repeating: message, count: count), enqueuedAt: .now, continuation: continuation)
            let inFlight = InFlightRequest(request)
            var outstanding = Outstanding()
            for index in 0..<count { outstanding.add(inFlight, index: index, message: message) }
            settle(&outstanding, inFlight)
        }
    }

    @Test func aPublishSentBeforeTheBrokerBlockedFailsAsPossiblyRouted() async {
        let results = await results(of: 2) { outstanding, _ in
            outstanding.settle(upTo: 1, multiple: false, with: .success(.confirmed))
            outstanding.failSentBefore(.now, reason: "memory alarm")
        }
        #expect(results.count == 2)
        #expect(results[0] == .success(.confirmed))
        guard case .failure(let error) = results[1], case .unconfirmed(let reason, _) = error else {
            Issue.record("expected an unconfirmed failure, got \(results[1])")
            return
        }
        #expect(reason == "memory alarm")
        #expect(error.mayHaveBeenRouted)
    }

    @Test func onlyFailuresAfterThePublishLeftMayHaveBeenRouted() {
        #expect(AMQPError.connectionLost(reason: "reset").mayHaveBeenRouted)
        #expect(AMQPError.unconfirmed(reason: "alarm", waited: .seconds(1)).mayHaveBeenRouted)
        #expect(!AMQPError.blocked(reason: "alarm", waited: .seconds(1)).mayHaveBeenRouted)
        #expect(!AMQPError.notConnected.mayHaveBeenRouted)
        #expect(!AMQPError.nacked.mayHaveBeenRouted)
        #expect(!AMQPError.unpublishable(reason: "too big").mayHaveBeenRouted)
        // A channel error fails everything in flight on the channel, some of which may have been routed.
        #expect(
            AMQPError.server(operation: "publishing", scope: .channel, replyCode: 404, replyText: "NOT_FOUND")
                .mayHaveBeenRouted)
        #expect(
            !AMQPError.server(operation: "login", scope: .connection, replyCode: 403, replyText: "ACCESS_REFUSED")
                .mayHaveBeenRouted)
    }

    @Test func aMultipleAckWithAHugeTagSettlesWhatWasSentAndNoMore() async {
        let results = await results(of: 3) { outstanding, _ in
            // Walking every number up to the tag would take centuries; only sequence numbers 1...3 were sent.
            outstanding.settle(upTo: .max, multiple: true, with: .success(.confirmed))
            #expect(outstanding.isEmpty)
        }
        #expect(results == Array(repeating: .success(.confirmed), count: 3))
    }
}
