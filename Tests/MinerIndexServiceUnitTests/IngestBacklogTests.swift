import Synchronization
import Testing

@testable import MinerIndexService

@Suite struct IngestBacklogTests {
    @Test func onlyABatchOfHalfThePrefetchOrMoreMeansBehind() {
        let clock = ManualClock()
        let backlog = IngestBacklog(prefetch: 500, now: clock.now)
        #expect(!backlog.wasBehind(within: .seconds(60)))
        backlog.record(batchSize: 249)
        #expect(!backlog.wasBehind(within: .seconds(60)))
        backlog.record(batchSize: 250)
        #expect(backlog.wasBehind(within: .seconds(60)))
        clock.advance(by: .milliseconds(30))
        #expect(!backlog.wasBehind(within: .milliseconds(10)))
        #expect(backlog.wasBehind(within: .milliseconds(30)), "the window includes its end")
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

/// A clock that moves only when told.
private final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)

    var now: @Sendable () -> ContinuousClock.Instant { { [self] in current.withLock { $0 } } }

    func advance(by duration: Duration) { current.withLock { $0 += duration } }
}
