import Foundation
import Testing

@testable import MinerIndex

@Suite struct AggregatedHistoryTests {
    /// 2026-11-29T12:00:00Z, on a minute and an hour boundary.
    let noon = ISO8601Timestamp.parse("2026-11-29T12:00:00Z") ?? Timestamp(microsecondsSinceEpoch: 0)

    func at(_ seconds: Double) -> Timestamp { noon.adding(seconds: seconds) }

    func figures(
        power: Double, bitcoin: Double? = nil, kaspa: Double? = nil, alive: Double = 2, registered: Double = 3,
        stale: Double = 0
    ) -> AggregatedHistoryFigures {
        var coins: [String: Double] = [:]
        if let bitcoin { coins["Bitcoin"] = bitcoin }
        if let kaspa { coins["Kaspa"] = kaspa }
        return AggregatedHistoryFigures(
            coinHashesPerSecond: coins, totalPower: power, alive: alive, registered: registered, online: alive - stale,
            stale: stale, offline: registered - alive, disabled: 1)
    }

    @Test func ticksAreKeptAsRecordedAndMinutesAndHoursHoldTheirMeans() {
        var history = AggregatedHistory()
        history.record(figures(power: 100, bitcoin: 10e12), at: at(10))
        history.record(figures(power: 200, bitcoin: 20e12, kaspa: 4e12, alive: 3, stale: 1), at: at(40))
        history.record(figures(power: 600, bitcoin: 60e12), at: at(65))
        history.record(figures(power: 1000, bitcoin: 0), at: at(3600 + 5))

        #expect(history.rows(.tick).map(\.bucketStart) == [at(10), at(40), at(65), at(3605)])
        #expect(
            history.rows(.tick)[1]
                == AggregatedHistoryRow(
                    resolution: .tick, bucketStart: at(40), samples: 1,
                    figures: figures(power: 200, bitcoin: 20e12, kaspa: 4e12, alive: 3, stale: 1)))

        let minutes = history.rows(.minute)
        #expect(minutes.map(\.bucketStart) == [at(0), at(60), at(3600)])
        #expect(minutes.map(\.samples) == [2, 1, 1])
        // A coin missing from a tick counts as 0 in the mean.
        #expect(
            minutes[0].figures
                == AggregatedHistoryFigures(
                    coinHashesPerSecond: ["Bitcoin": 15e12, "Kaspa": 2e12], totalPower: 150, alive: 2.5, registered: 3,
                    online: 2, stale: 0.5, offline: 0.5, disabled: 1))
        #expect(minutes[1].figures.totalPower == 600)

        let hours = history.rows(.hour)
        #expect(hours.map(\.bucketStart) == [at(0), at(3600)])
        #expect(hours.map(\.samples) == [3, 1])
        // The mean of the three ticks, not of the two minute means.
        #expect(hours[0].figures.totalPower == 300)
        #expect(hours[0].figures.coinHashesPerSecond == ["Bitcoin": 30e12, "Kaspa": 4e12 / 3])
        #expect(hours[1].figures.coinHashesPerSecond == ["Bitcoin": 0])
    }

    @Test func sinceKeepsTheBucketsStartingAtOrAfterIt() {
        var history = AggregatedHistory()
        for second in stride(from: 0.0, to: 300, by: 15) { history.record(figures(power: second), at: at(second)) }
        #expect(history.rows(.tick, since: at(270)).map(\.bucketStart) == [at(270), at(285)])
        #expect(history.rows(.minute, since: at(150)).map(\.bucketStart) == [at(180), at(240)])
        #expect(history.rows(.minute, since: at(120)).map(\.bucketStart) == [at(120), at(180), at(240)])
        #expect(history.rows(.hour, since: at(1)).isEmpty)
        #expect(history.rows(.tick, since: at(-86_400)).count == 20)
    }

    @Test func rowsAgeOutAtTheirResolutionsRetention() {
        var history = AggregatedHistory()
        // One tick a minute for 31 days, with the hour's number as the power.
        for minute in 0...(31 * 24 * 60) {
            history.record(figures(power: Double(minute / 60)), at: at(Double(minute) * 60))
        }
        let end = at(31 * 86_400)
        #expect(history.rows(.tick).first?.bucketStart == end.adding(seconds: -3600))
        #expect(history.rows(.tick).count == 61)
        #expect(history.rows(.minute).first?.bucketStart == end.adding(seconds: -86_400))
        #expect(history.rows(.minute).count == 24 * 60 + 1)
        #expect(history.rows(.hour).first?.bucketStart == end.adding(seconds: -30 * 86_400))
        #expect(history.rows(.hour).count == 30 * 24 + 1)
        #expect(history.rows(.hour).first?.figures.totalPower == 24)
        #expect(history.retentionCutoff(.minute, now: end) == end.adding(seconds: -86_400))
    }

    @Test func aClockThatStepsBackIsIgnored() {
        var history = AggregatedHistory()
        history.record(figures(power: 1), at: at(30))
        history.record(figures(power: 2), at: at(20))
        history.record(figures(power: 3), at: at(30))
        history.record(figures(power: 4), at: at(31))
        #expect(history.rows(.tick).map(\.figures.totalPower) == [1, 4])
        #expect(history.rows(.minute).first?.samples == 2)
    }

    @Test func pendingRowsAreWhatChangedSinceTheLastCall() {
        var history = AggregatedHistory()
        history.record(figures(power: 100), at: at(10))
        let first = history.pendingRows()
        #expect(first.map(\.resolution) == [.tick, .minute, .hour])
        #expect(first.map(\.bucketStart) == [at(10), at(0), at(0)])
        #expect(history.pendingRows().isEmpty)

        history.record(figures(power: 300), at: at(20))
        history.record(figures(power: 500), at: at(70))
        let second = history.pendingRows()
        #expect(second.map(\.resolution) == [.tick, .tick, .minute, .minute, .hour])
        #expect(second.map(\.bucketStart) == [at(20), at(70), at(0), at(60), at(0)])
        // The latest version of a changed row only.
        #expect(second[2].samples == 2)
        #expect(second[2].figures.totalPower == 200)
        #expect(second[4].samples == 3)
        #expect(second[4].figures.totalPower == 300)
    }

    /// What the State store does: upsert every pending row by (resolution, bucket start), restart, restore.
    @Test func aHistoryRestoredFromItsRowsAnswersAsBeforeAndGoesOnFillingItsBuckets() {
        var original = AggregatedHistory()
        var store: [String: AggregatedHistoryRow] = [:]
        func flush() {
            for row in original.pendingRows() { store["\(row.resolution.rawValue)@\(row.bucketStart)"] = row }
        }
        var generator = SystemRandomNumberGenerator()
        var second = 0.0
        for tick in 0..<5_000 {
            second += Double.random(in: 0.5...3, using: &generator)
            original.record(
                figures(
                    power: Double.random(in: 0...9000, using: &generator),
                    bitcoin: Double.random(in: 0...1e15, using: &generator),
                    kaspa: Bool.random(using: &generator) ? 5e12 : nil,
                    alive: Double(Int.random(in: 0...3, using: &generator))),
                at: at(second))
            if tick % 37 == 0 { flush() }
        }
        flush()
        let now = at(second)
        var restored = AggregatedHistory(restoring: Array(store.values).shuffled(using: &generator), now: now)
        for resolution in AggregatedHistoryResolution.allCases {
            #expect(restored.rows(resolution) == original.rows(resolution), "\(resolution)")
        }
        #expect(restored.pendingRows().isEmpty)

        // The open minute and hour go on filling with the right weights.
        for offset in [1.0, 2, 3] {
            let next = figures(power: 4000 + offset, bitcoin: 7e14)
            original.record(next, at: now.adding(seconds: offset))
            restored.record(next, at: now.adding(seconds: offset))
        }
        for resolution in AggregatedHistoryResolution.allCases {
            let before = original.rows(resolution), after = restored.rows(resolution)
            #expect(before.map(\.bucketStart) == after.map(\.bucketStart), "\(resolution)")
            #expect(before.map(\.samples) == after.map(\.samples), "\(resolution)")
            for (expected, actual) in zip(before, after) {
                #expect(
                    abs(expected.figures.totalPower - actual.figures.totalPower) <= 1e-9 * expected.figures.totalPower)
            }
        }
        let pending = restored.pendingRows()
        #expect(
            pending.filter { $0.resolution == .tick }.map(\.bucketStart) == [1.0, 2, 3].map { now.adding(seconds: $0) })
        #expect(pending.last { $0.resolution == .minute } == restored.rows(.minute).last)
        #expect(pending.last { $0.resolution == .hour } == restored.rows(.hour).last)

        // Rows the store kept beyond the retention are left out.
        let muchLater = now.adding(seconds: 2 * 3600)
        let aged = AggregatedHistory(restoring: Array(store.values), now: muchLater)
        #expect(aged.rows(.tick).isEmpty)
        // (Compared with what the store holds: `original` has gone on past the last flush.)
        let storedMinutes = store.values.filter { $0.resolution == .minute }.sorted { $0.bucketStart < $1.bucketStart }
        #expect(aged.rows(.minute) == storedMinutes.filter { $0.bucketStart >= muchLater.adding(seconds: -86_400) })
        #expect(
            aged.rows(.hour)
                == store.values.filter { $0.resolution == .hour }.sorted { $0.bucketStart < $1.bucketStart })
    }

    @Test func theHistoryJSONHasOneEntryPerRow() throws {
        var history = AggregatedHistory()
        history.record(figures(power: 100.25, bitcoin: 1.5e14), at: at(10))
        history.record(figures(power: 200, bitcoin: 2.5e14, alive: 3), at: at(20))
        let bytes = AggregatedHistoryJSON.encode(resolution: .minute, since: at(0), rows: history.rows(.minute))
        #expect(
            String(decoding: bytes, as: UTF8.self) == """
                {"resolution":"1m","since":"2026-11-29T12:00:00Z","entries":[{"bucket_start":"2026-11-29T12:00:00Z",\
                "samples":2,"coin_hashrate_map":{"Bitcoin":2e+14},"total_power":150.125,"alive":2.5,"registered":3,\
                "status_counts":{"online":2.5,"stale":0,"offline":0.5,"disabled":1}}]}
                """)
        let empty = try Fixtures.parse(AggregatedHistoryJSON.encode(resolution: .tick, since: nil, rows: []))
        #expect(empty["since"] is NSNull)
        #expect((empty["entries"] as? [Any])?.isEmpty == true)
    }
}
