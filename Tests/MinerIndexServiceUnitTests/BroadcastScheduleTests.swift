import Testing

@testable import MinerIndexService

/// The broadcasters' decisions, on an injected clock: whole runs of ticks, compared letter by letter.
@Suite struct BroadcastScheduleTests {
    let start = ContinuousClock.now

    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    /// One letter per one-second tick: `K` keyframe (after the delta that leads to it), `D` delta, `.` nothing
    /// changed, `W` waiting for ingest to catch up.
    func run(
        seconds: Int, changes: Set<Int> = [], requests: [Int: UInt64] = [:], behind: Set<Int> = [],
        chainLostAt: Set<Int> = [], schedule: inout StreamSchedule
    ) -> String {
        var letters = ""
        var requestCount: UInt64 = 0
        var hasChain = false
        for second in 0..<seconds {
            requestCount += requests[second] ?? 0
            if chainLostAt.contains(second) { hasChain = false }
            switch schedule.decide(
                now: at(second), force: false, requestCount: requestCount, hasChain: hasChain,
                ingestBehind: behind.contains(second))
            {
            case .wait:
                letters += "W"
            case .deltaIfChanged:
                if changes.contains(second) {
                    schedule.deltaPublished(at: at(second))
                    letters += "D"
                } else {
                    letters += "."
                }
            case .publish(keyframe: true, _):
                schedule.keyframePublished(at: at(second), answering: requestCount)
                hasChain = true
                letters += "K"
            case .publish(keyframe: false, _):
                schedule.deltaPublished(at: at(second))
                letters += "D"
            }
        }
        return letters
    }

    func streamSchedule() -> StreamSchedule {
        StreamSchedule(
            keyframeInterval: .seconds(30), idleInterval: .seconds(10), fullIndexBacklogInterval: .seconds(5),
            createdAt: start)
    }

    @Test func aKeyframeAtOnceThenEveryIntervalDeltasOnChangeAndAnIdleDeltaEveryTenSeconds() {
        var schedule = streamSchedule()
        let letters = run(seconds: 35, changes: [2, 3, 4, 20], schedule: &schedule)
        #expect(letters == "K.DDD.........D.....D.........K....")
    }

    @Test func aRequestOrALostChainGetsAKeyframeAtTheNextTickAndOneRequestOnlyOne() {
        var schedule = streamSchedule()
        let letters = run(seconds: 12, requests: [3: 2, 7: 1], chainLostAt: [5], schedule: &schedule)
        #expect(letters == "K..K.K.K....")
        #expect(schedule.answeredRequests == 3)
    }

    @Test func whileIngestIsBehindAtMostOneMessageGoesOutPerBacklogInterval() {
        var schedule = streamSchedule()
        let letters = run(seconds: 14, changes: Set(0..<14), behind: Set(0..<14), schedule: &schedule)
        // The term's first keyframe waits too: it would show a backlog half applied.
        #expect(letters == "WWWWWKWWWWDWWW")
    }

    @Test func aForcedTickPublishesAKeyframeEvenWhileIngestIsBehind() {
        var schedule = streamSchedule()
        schedule.keyframePublished(at: at(0), answering: 0)
        let decision = schedule.decide(now: at(1), force: true, requestCount: 0, hasChain: true, ingestBehind: true)
        #expect(decision == .publish(keyframe: true, idle: false))
    }

    @Test func theBacklogIsAskedAboutOnlyWithinTheBacklogInterval() {
        var schedule = streamSchedule()
        schedule.keyframePublished(at: at(0), answering: 0)
        var asked = 0
        func behind() -> Bool {
            asked += 1
            return true
        }
        #expect(
            schedule.decide(now: at(6), force: false, requestCount: 0, hasChain: true, ingestBehind: behind())
                == .deltaIfChanged)
        #expect(asked == 0)
        #expect(
            schedule.decide(now: at(2), force: false, requestCount: 0, hasChain: true, ingestBehind: behind()) == .wait)
        #expect(asked == 1)
    }

    @Test func anAggregateGoesOutOnChangeAtMostOncePerTickAndWhenIdle() {
        var schedule = AggregateSchedule(idleInterval: .seconds(10))
        var version: UInt64 = 1
        var letters = ""
        for second in 0..<23 {
            if [3, 4].contains(second) { version += 1 }
            if schedule.isDue(version: version, now: at(second), force: false) {
                schedule.published(version: version, at: at(second))
                letters += "P"
            } else {
                letters += "."
            }
        }
        #expect(letters == "P..PP.........P........")
        #expect(schedule.isDue(version: version, now: at(23), force: true))
    }
}
