import Testing
@testable import MinerIndexService

@Suite struct IngestBacklogTests {
    @Test func onlyABatchOfHalfThePrefetchOrMoreMeansBehind() async throws {
        let backlog = IngestBacklog(prefetch: 500)
        #expect(!backlog.wasBehind(within: .seconds(60)))
        backlog.record(batchSize: 249)
        #expect(!backlog.wasBehind(within: .seconds(60)))
        backlog.record(batchSize: 250)
        #expect(backlog.wasBehind(within: .seconds(60)))
        try await Task.sleep(for: .milliseconds(30))
        #expect(!backlog.wasBehind(within: .milliseconds(10)))
    }

    @Test func aQueueHoldingAWholePrefetchWindowMeansBehindAndAnUnknownDepthShowsNothing() {
        let backlog = IngestBacklog(prefetch: 500)
        backlog.record(readyMessages: nil)
        backlog.record(readyMessages: 499)
        #expect(!backlog.wasBehind(within: .seconds(60)))
        backlog.record(readyMessages: 500)
        #expect(backlog.wasBehind(within: .seconds(60)))
    }

    @Test func aPrefetchOfOneStillHasAThreshold() {
        let backlog = IngestBacklog(prefetch: 1)
        backlog.record(batchSize: 1)
        #expect(backlog.wasBehind(within: .seconds(1)))
    }
}
