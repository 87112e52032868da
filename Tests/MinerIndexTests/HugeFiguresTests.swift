import Testing

@testable import MinerIndex

/// Figures a decoder accepts must never make the running totals overflow: an infinite sum turns into NaN once a
/// contribution is subtracted again, and a NaN total never recovers (the dashboard would show null until a
/// restart).
@Suite struct HugeFiguresTests {
    let now = Fixtures.seconds(0)

    @Test func figuresBeyondTheBoundsAreRefused() {
        for overrides: [String: Any] in [["power": 1e308], ["hashrate_5_min": 1e308, "hashrate_uom": "H/s"]] {
            #expect(throws: RecordDecodingError.self) {
                try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject(overrides: overrides)))
            }
        }
    }

    @Test func totalsStayFiniteWhenThousandsOfTheLargestAcceptedLogsComeAndGo() async throws {
        let index = AsicMinerOperationalIndex()
        for id: Int64 in 1...2000 {
            let body = Fixtures.json(
                Fixtures.asicLogObject(
                    id: id,
                    overrides: [
                        "power": DecodingLimits.largestMeasure, "hashrate_5_min": 0.9e9, "hashrate_uom": "PH/s",
                    ]))
            await index.put(try AsicMinerLog.decode(json: body), receivedAt: now)
        }
        let busy = await index.versionedAggregate().aggregate
        #expect(busy.totalPower.isFinite && busy.totalPower > 1e21)
        await index.put(Fixtures.asicLog(id: 9_999, hashrate: 1, power: 100), receivedAt: now)
        for id: Int64 in 1...2000 { _ = await index.remove(id) }
        let aggregate = await index.versionedAggregate().aggregate
        #expect(aggregate.totalPower.isFinite)
        #expect(abs(aggregate.totalPower - 100) < 1e-6, "\(aggregate.totalPower)")
        let bitcoin = try #require(aggregate.coinHashrates["Bitcoin"]?.hashesPerSecond)
        #expect(abs(bitcoin - 1e12) < 1, "\(bitcoin)")
    }
}
