import Foundation
import Testing

@testable import MinerIndex

/// Canaries: decoded from `<kind>.canary`, applied in order with the logs, shown under `canaries` in the
/// aggregated payload and counted in no fleet figure.
@Suite struct CanaryTests {
    let decoder = MinerMessageDecoder()

    @Test func decodesACanaryOfEitherKind() throws {
        let body = Array(#"{"id": "health-check", "sequence": 42}"#.utf8)
        #expect(
            try decoder.decode(routingKey: "asic_miner.canary", body: body)
                == .asic(.canary(Canary(id: "health-check", sequence: 42))))
        #expect(
            try decoder.decode(routingKey: "cpu_gpu_miner.canary", body: body)
                == .cpuGpu(.canary(Canary(id: "health-check", sequence: 42))))
    }

    @Test func aBadCanaryIsAClearError() {
        func error(_ text: String) -> String? {
            do {
                _ = try decoder.decode(routingKey: "asic_miner.canary", body: Array(text.utf8))
                return nil
            } catch { return error.description }
        }
        #expect(error(#"{"sequence": 1}"#) == "id: missing required field")
        #expect(error(#"{"id": "", "sequence": 1}"#) == #"id: expected a non-empty string, found """#)
        #expect(
            error(#"{"id": "x", "sequence": -1}"#) == "sequence: must be a non-negative integer that fits in 64 bits")
        #expect(error(#"{"id": 7, "sequence": 1}"#) == "id: expected a string, found a number")
        #expect(
            error(#"{"id": "\#(String(repeating: "x", count: 300))", "sequence": 1}"#)
                == "id: string of 300 bytes exceeds the 256-byte limit")
        #expect(error("[]") == "body: not a JSON object")
    }

    @Test func aCanaryIsShownAndCountedNowhere() async throws {
        let index = AsicMinerOperationalIndex()
        let now = Fixtures.t0
        await index.upsert(AsicMiner(id: 1, name: "one", activated: true))
        await index.put(Fixtures.asicLog(id: 1), receivedAt: now)
        let before = await index.versionedAggregate()

        let outcomes = await index.apply([
            TimedCommand(.canary(Canary(id: "probe", sequence: 3)), receivedAt: now.adding(seconds: 1))
        ])
        #expect(outcomes == [.applied])
        let after = await index.versionedAggregate()
        #expect(after.version > before.version, "the broadcaster must publish it")
        #expect(after.aggregate.canaries == [CanaryMark(id: "probe", sequence: 3, receivedAt: now.adding(seconds: 1))])
        var figures = after.aggregate
        figures.canaries = []
        #expect(figures == before.aggregate, "no fleet figure moved")
        #expect(await index.snapshot().registry.entries.count == 1)
        #expect(await index.drainChanges(includeLogs: true).registry.isEmpty, "nothing for the store")
    }

    @Test func theHighestSequenceOfEachIdIsKeptForTheMostRecentIds() async throws {
        let index = CpuGpuMinerOperationalIndex()
        let now = Fixtures.t0
        func canary(_ id: String, _ sequence: Int64) -> TimedCommand<CpuGpuMinerCommand> {
            TimedCommand(.canary(Canary(id: id, sequence: sequence)), receivedAt: now)
        }
        #expect(
            await index.apply([canary("a", 2), canary("a", 1), canary("a", 2), canary("b", 1)])
                == [.applied, .ignoredOutOfOrder, .ignoredOutOfOrder, .applied])
        for number in 0..<CanaryBoard.capacity { _ = await index.apply([canary("flood-\(number)", 1)]) }
        let ids = await index.versionedAggregate().aggregate.canaries.map(\.id)
        #expect(ids.count == CanaryBoard.capacity)
        #expect(!ids.contains("a") && !ids.contains("b"), "the oldest ids make room")
        _ = await index.apply([canary("flood-0", 5)])
        #expect(await index.versionedAggregate().aggregate.canaries.last?.sequence == 5)
    }

    @Test func thePayloadShowsTheCanariesAfterTheFleetFigures() async throws {
        let index = AsicMinerOperationalIndex()
        _ = await index.apply([TimedCommand(.canary(Canary(id: "q\"x", sequence: 9)), receivedAt: Fixtures.t0)])
        let encoder = AsicMinerPayloadEncoder(cachesRecords: false)
        let empty = encoder.aggregatedPayload(
            await AsicMinerOperationalIndex().versionedAggregate().aggregate,
            sequence: 1, generatedAt: Fixtures.t0)
        #expect(String(decoding: empty, as: UTF8.self).contains(#""canaries":{}"#))
        let payload = encoder.aggregatedPayload(
            await index.versionedAggregate().aggregate, sequence: 2,
            generatedAt: Fixtures.t0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        let canaries = try #require(object["canaries"] as? [String: [String: Any]])
        #expect((canaries["q\"x"]?["sequence"] as? NSNumber)?.int64Value == 9)
        #expect(canaries["q\"x"]?["received_at"] as? String == "2023-11-14T22:13:20Z")
        #expect(object["asic_miner_alive"] as? String == "0/0")
    }
}
