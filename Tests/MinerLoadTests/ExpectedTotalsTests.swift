import Foundation
import MinerIndex
import Testing

@testable import MinerLoadKit

@Suite struct ExpectedTotalsTests {
    let now = Timestamp(microsecondsSinceEpoch: 1_700_000_100_000_000)

    func state(secondsAgo: Double, _ coins: [(String, Double)], power: Double, temperature: Double? = nil)
        -> MinerLedger.LoggedState
    {
        .init(
            insertedAt: now.adding(seconds: -secondsAgo),
            contribution: MinerContribution(
                coins: coins.map { .init(coin: $0.0, hashesPerSecond: $0.1) }, power: power,
                maxTemperature: temperature,
                coinPower: coins.first.map { [$0.0: power] } ?? [:]))
    }

    func totals(_ ledger: MinerLedger, _ kind: MinerKind = .asic) -> ExpectedTotals {
        ExpectedTotals.compute(
            entries: ledger.entries(of: kind), at: now, offlineAfter: .seconds(60), sweepInterval: .seconds(1))
    }

    @Test func liveActivatedMinersAddUpPerCoinAndOnlyTheyCount() {
        var ledger = MinerLedger(asicCount: 5, cpuGpuCount: 0)
        ledger.upserted(MinerSlot(kind: .asic, index: 0), activated: true, confirmed: true)
        ledger.upserted(MinerSlot(kind: .asic, index: 1), activated: false, confirmed: true)
        ledger.upserted(MinerSlot(kind: .asic, index: 4), activated: true, confirmed: true)
        ledger.logConfirmed(MinerSlot(kind: .asic, index: 0), state(secondsAgo: 2, [("Bitcoin", 100e12)], power: 3000))
        ledger.logConfirmed(MinerSlot(kind: .asic, index: 1), state(secondsAgo: 2, [("Bitcoin", 90e12)], power: 3100))
        // Never upserted: its log registers it.
        ledger.logConfirmed(
            MinerSlot(kind: .asic, index: 2), state(secondsAgo: 3, [("Bitcoin", 500e12), ("Kaspa", 2e12)], power: 4000))
        // Silent for two minutes: expired, but still registered.
        ledger.logConfirmed(MinerSlot(kind: .asic, index: 3), state(secondsAgo: 120, [("Kaspa", 9e12)], power: 3500))
        let expected = totals(ledger)
        #expect(expected.live == .init(low: 2, high: 2))
        #expect(expected.registered == .init(low: 4, high: 4), "0, 2, 3 and the upserted 4; not the deactivated 1")
        #expect(expected.power == .init(low: 7000, high: 7000))
        #expect(expected.coins["Bitcoin"] == .init(low: 600e12, high: 600e12))
        #expect(expected.coins["Kaspa"] == .init(low: 2e12, high: 2e12))
        #expect(expected.minersInDoubt == 0)
        #expect(expected.offline == .init(low: 2, high: 2), "3 expired and 4 never reported")
        #expect(expected.disabled == .init(low: 1, high: 1))
        #expect(expected.coinPower == ["Bitcoin": .init(low: 7000, high: 7000)])
    }

    @Test func aLogWithinTheSweepPeriodOfExpiringMayGoEitherWay() {
        var ledger = MinerLedger(asicCount: 2, cpuGpuCount: 0)
        ledger.logConfirmed(MinerSlot(kind: .asic, index: 0), state(secondsAgo: 1, [("Bitcoin", 100e12)], power: 3000))
        ledger.logConfirmed(
            MinerSlot(kind: .asic, index: 1), state(secondsAgo: 60.5, [("Bitcoin", 50e12)], power: 1000))
        let expected = totals(ledger)
        #expect(expected.live == .init(low: 1, high: 2))
        #expect(expected.registered == .init(low: 2, high: 2))
        #expect(expected.offline == .init(low: 0, high: 1))
        #expect(expected.power == .init(low: 3000, high: 4000))
        #expect(expected.coins["Bitcoin"] == .init(low: 100e12, high: 150e12))
        #expect(expected.minersInDoubt == 1)
    }

    @Test func aFailedPublishLeavesTheMinerBetweenItsOldAndNewState() {
        var ledger = MinerLedger(asicCount: 0, cpuGpuCount: 2)
        let rig = MinerSlot(kind: .cpuGpu, index: 0)
        ledger.logConfirmed(rig, state(secondsAgo: 5, [("Monero", 20e3), ("Monero", 3e3)], power: 500))
        ledger.logInDoubt(rig, state(secondsAgo: 1, [("Ergo", 150e6)], power: 600))
        // A never-confirmed first log: the rig may not even be registered.
        ledger.logInDoubt(MinerSlot(kind: .cpuGpu, index: 1), state(secondsAgo: 1, [("Ergo", 100e6)], power: 300))
        let expected = totals(ledger, .cpuGpu)
        #expect(expected.registered == .init(low: 1, high: 2))
        #expect(expected.live == .init(low: 1, high: 2))
        #expect(expected.power == .init(low: 500, high: 900))
        #expect(expected.coins["Monero"] == .init(low: 0, high: 23e3))
        #expect(expected.coins["Ergo"] == .init(low: 0, high: 250e6))
        // A later confirm settles the doubt.
        ledger.logConfirmed(rig, state(secondsAgo: 0.5, [("Ergo", 160e6)], power: 610))
        #expect(totals(ledger, .cpuGpu).minersInDoubt == 1)
    }

    @Test func aSnapshotIsComparedFigureByFigure() throws {
        var ledger = MinerLedger(asicCount: 3, cpuGpuCount: 0)
        ledger.logConfirmed(
            MinerSlot(kind: .asic, index: 0),
            state(
                secondsAgo: 1, [("Bitcoin", 100.1e12)], power: 3000.5,
                temperature: 84))
        ledger.logConfirmed(
            MinerSlot(kind: .asic, index: 1),
            state(
                secondsAgo: 1, [("Litecoin", 9.5e9)], power: 3425,
                temperature: 71))
        ledger.upserted(MinerSlot(kind: .asic, index: 2), activated: false, confirmed: true)
        let expected = totals(ledger)
        let generatedAt = ISO8601Timestamp.format(now)
        // Online and stale split the live miners as time goes; only their sum is checked.
        let matching = try AggregatedSnapshot(
            kind: .asic,
            body: Array(
                """
                {"coin_hashrate_map":{"Bitcoin":[100.1,"TH/s"],"Litecoin":[9.5,"GH/s"]},"total_power":6425.5,\
                "asic_miner_alive":"2/2","status_counts":{"online":1,"stale":1,"offline":0,"disabled":1},\
                "coin_power_map":{"Bitcoin":3000.5,"Litecoin":3425},"thermal":{"max_temp":84},\
                "sequence":3,"generated_at":"\(generatedAt)"}
                """.utf8), arrivedAt: .now)
        #expect(TotalsComparison(expected: expected, observed: matching).matches)

        let wrong = try AggregatedSnapshot(
            kind: .asic,
            body: Array(
                """
                {"coin_hashrate_map":{"Bitcoin":[100.1,"GH/s"],"Dash":[1.0,"TH/s"]},"total_power":6425,\
                "asic_miner_alive":"1/2","status_counts":{"online":2,"stale":0,"offline":1,"disabled":0},\
                "coin_power_map":{"Bitcoin":3000,"Litecoin":3425},"thermal":{"max_temp":null},\
                "sequence":4,"generated_at":"\(generatedAt)"}
                """.utf8), arrivedAt: .now)
        let differences = TotalsComparison(expected: expected, observed: wrong).differences
        #expect(differences.contains("status_counts: online 2 + stale 0 is not the 1 live miners"), "\(differences)")
        #expect(differences.contains("status_counts.offline: expected 0, got 1"))
        #expect(differences.contains("status_counts.disabled: expected 1, got 0"))
        #expect(differences.contains("thermal.max_temp: expected 84, got null"))
        #expect(differences.contains("coin_power_map[Bitcoin]: expected 3000.5 W, got 3000 W"))
        #expect(differences.count == 10, "\(differences)")
        #expect(differences.contains("live miners: expected 2, got 1"))
        #expect(differences.contains("total_power: expected 6425.5 W, got 6425 W"))
        #expect(differences.contains("Litecoin: expected 9.5 GH/s, missing from the snapshot"))
        #expect(differences.contains { $0.hasPrefix("Bitcoin: expected 100.") && $0.hasSuffix("GH/s") })
        #expect(differences.contains { $0.hasPrefix("Dash: expected 0 H/s") })
    }

    @Test func unreadableSnapshotsAreReportedNotGuessed() {
        #expect(throws: AggregatedSnapshot.ParseError.self) {
            try AggregatedSnapshot(kind: .cpuGpu, body: Array(#"{"asic_miner_alive":"1/1"}"#.utf8), arrivedAt: .now)
        }
        // A snapshot without the fleet-health keys that verify checks is unreadable, not a pass.
        #expect(throws: AggregatedSnapshot.ParseError.self) {
            try AggregatedSnapshot(
                kind: .cpuGpu,
                body: Array(
                    #"""
                    {"coin_hashrate_map":{},"total_power":0,"cpu_gpu_miner_alive":"0/0","sequence":1,\#
                    "generated_at":"2026-11-29T12:00:00Z","thermal":{"max_temp":null}}
                    """#.utf8), arrivedAt: .now)
        }
    }
}

@Suite struct LagTests {
    @Test func percentilesAreNearestRank() {
        let summary = LagSummary(samples: (1...100).map { Double($0) / 1000 }.shuffled())
        #expect(summary.samples == 100)
        #expect(summary.p50 == 0.050)
        #expect(summary.p95 == 0.095)
        #expect(summary.p99 == 0.099)
        #expect(summary.max == 0.100)
        #expect(LagSummary(samples: []).p99 == nil)
    }

    @Test func aSnapshotResolvesEveryProbeItReflectsOnceAndTheLagRunsFromTheConfirm() {
        let tracker = LagTracker()
        let start = ContinuousClock.now
        for serial in 1...4 {
            tracker.probeSent(.asic, serial: Int64(serial), at: start + .milliseconds(100 * serial))
            // Confirmed 50 ms after it was sent; the lag counts from here.
            tracker.probeConfirmed(.asic, serial: Int64(serial), at: start + .milliseconds(100 * serial + 50))
        }
        tracker.probeFailed(.asic, serial: 3)
        tracker.snapshotArrived(.asic, reflecting: 2, at: start + .milliseconds(500))
        tracker.snapshotArrived(.asic, reflecting: 2, at: start + .milliseconds(900))
        tracker.snapshotArrived(.cpuGpu, reflecting: 9, at: start + .milliseconds(900))
        #expect(tracker.summary.samples == 2)
        tracker.snapshotArrived(.asic, reflecting: 4, at: start + .milliseconds(1000))
        let lags = tracker.summary
        #expect(lags.samples == 3, "probe 3 failed and is left out")
        #expect(lags.max == 0.55)
        #expect(lags.p50 == 0.35)
    }

    @Test func aProbeCountsOnceBothEndsAreKnownWhicheverComesFirst() {
        let tracker = LagTracker()
        let start = ContinuousClock.now
        tracker.probeSent(.cpuGpu, serial: 7, at: start)
        // The service read it and published before miner-load handled the broker's confirm.
        tracker.snapshotArrived(.cpuGpu, reflecting: 7, at: start + .milliseconds(20))
        #expect(tracker.summary(of: .cpuGpu).samples == 0, "not confirmed yet")
        tracker.probeConfirmed(.cpuGpu, serial: 7, at: start + .milliseconds(30))
        #expect(tracker.summary(of: .cpuGpu).samples == 1)
        #expect(tracker.summary(of: .cpuGpu).max == 0, "never negative")
        tracker.probeConfirmed(.cpuGpu, serial: 8, at: start + .milliseconds(30))
        #expect(tracker.summary.samples == 1, "a confirm for a probe never sent changes nothing")
    }

    @Test func theProbeTimelineGivesWhenEachConfirmedProbeWasSentAndFirstReflected() {
        let tracker = LagTracker()
        let start = ContinuousClock.now
        let wallStart = Date(timeIntervalSince1970: 1_000)
        for serial in 1...4 {
            tracker.probeSent(
                .asic, serial: Int64(serial), at: start + .milliseconds(100 * serial),
                wallClock: wallStart.addingTimeInterval(0.1 * Double(serial)))
        }
        tracker.probeFailed(.asic, serial: 2)
        tracker.probeConfirmed(.asic, serial: 1, at: start + .milliseconds(150))
        tracker.snapshotArrived(.asic, reflecting: 3, at: start + .milliseconds(1_000))
        tracker.snapshotArrived(.asic, reflecting: 3, at: start + .milliseconds(2_000))
        let timeline = tracker.timeline(of: .asic)
        #expect(timeline.map(\.serial) == [1, 3, 4], "probe 2 failed and is left out")
        #expect(abs(timeline[0].sentAt - 1_000.1) < 1e-6)
        #expect(abs((timeline[0].confirmedAt ?? 0) - 1_000.15) < 1e-6)
        #expect(timeline[1].confirmedAt == nil, "probe 3 has no confirm yet")
        #expect(
            abs((timeline[0].reflectedAt ?? 0) - 1_001.0) < 1e-6, "the first snapshot reflecting it, not a later one")
        #expect(abs((timeline[1].reflectedAt ?? 0) - 1_001.0) < 1e-6)
        #expect(timeline[2].reflectedAt == nil, "no snapshot reflected probe 4")
        #expect(tracker.timeline(of: .cpuGpu).isEmpty)
    }
}
