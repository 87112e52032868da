import MinerIndex
import Testing

@testable import MinerIndexState

@Suite struct LatestLogsTests {
    let t0 = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)

    private func logs(_ ids: [Int64], at seconds: Double, _ records: inout RandomRecords) -> [ObservedLog<AsicMinerLog>]
    {
        ids.map { ObservedLog(log: records.asicLog(id: $0), observedAt: t0.adding(seconds: seconds)) }
    }

    private func picture(_ logs: [ObservedLog<AsicMinerLog>]) -> [String] {
        logs.map { "\($0.minerId)@\($0.observedAt.microsecondsSinceEpoch - t0.microsecondsSinceEpoch)" }.sorted()
    }

    @Test func oneDrainIsWrittenAsItCame() {
        var records = RandomRecords(seed: 5)
        var held = LatestLogs<AsicMinerLog>()
        #expect(held.isEmpty)
        let drain = logs([3, 1, 2], at: 1, &records)
        held.append(drain)
        #expect(!held.isEmpty)
        #expect(held.latest.map(\.minerId) == [3, 1, 2])
    }

    @Test func laterDrainsReplaceEarlierLogsOfTheSameMiner() {
        var records = RandomRecords(seed: 6)
        var held = LatestLogs<AsicMinerLog>()
        held.append(logs([1, 2], at: 1, &records))
        held.append([])
        held.append(logs([2, 3], at: 2, &records))
        held.append(logs([3], at: 3, &records))
        #expect(picture(held.latest) == ["1@1000000", "2@2000000", "3@3000000"])
    }

    @Test func aDeleteDropsTheLogsHeldBeforeItButNotTheOnesAfter() {
        var records = RandomRecords(seed: 7)
        var held = LatestLogs<AsicMinerLog>()
        held.append(logs([1, 2, 3], at: 1, &records))
        held.append(logs([2], at: 2, &records))
        held.remove([2, 3])
        #expect(picture(held.latest) == ["1@1000000"])
        held.append(logs([3], at: 4, &records))
        #expect(picture(held.latest) == ["1@1000000", "3@4000000"])
        held.remove([1, 3])
        #expect(held.isEmpty)
        #expect(held.latest.isEmpty)
    }
}
