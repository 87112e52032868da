import Foundation
import Testing

@testable import MinerIndex

@Suite struct MinerListTests {
    let now = Fixtures.seconds(100)
    let staleAfter = 20.0

    /// What the fixture fleet is, independently of the code under test.
    struct Expected {
        var id: Int64
        var name: String
        var model: String
        var status: MinerListQuery.Status
        var lanAddress: String?
        var temperature: Double?
        var terahashes: Double?
    }

    /// Ids 1…40: names `rack-A-<id>` (odd) or `rack-B-<id>` (even); models alternate S19 and L7, with every fifth
    /// miner registered without one; 1–30 report (1–4 and 29–30 observed 30 s ago, so stale), 31–40 do not
    /// (offline), and 35 and 36 are deactivated (disabled). Temperatures repeat (ties), and 7 reports none.
    func fleet() async -> (AsicMinerOperationalIndex, [Expected]) {
        let index = AsicMinerOperationalIndex()
        var expected: [Expected] = []
        for id in Int64(1)...40 {
            let name = "rack-\(id % 2 == 1 ? "A" : "B")-\(id)"
            let model: String? = id % 5 == 0 ? nil : (id % 2 == 0 ? "Antminer S19" : "Antminer L7")
            let activated = id != 35 && id != 36
            await index.upsert(AsicMiner(id: id, name: name, model: model, activated: activated))
            let reports = id <= 30
            let temperature: Double? = id == 7 ? nil : Double(50 + id % 6 * 5)
            if reports {
                let stale = id <= 4 || id >= 29
                let log = AsicMinerLog(
                    asicMinerId: id, hashrate5Min: Double(id), hashrateUnit: .terahashesPerSecond,
                    uptime: "00:00:01:00", pools: [],
                    hashboards: temperature.map { [.init(temperature1: $0, temperature2: nil)] } ?? [],
                    fanSpeeds: [5000], lanIp: "10.0.\(id % 3).\(id)", coinName: "bitcoin", power: 3000)
                await index.put(log, receivedAt: stale ? now.adding(seconds: -30) : now)
            }
            let status: MinerListQuery.Status =
                !activated ? .disabled : !reports ? .offline : (id <= 4 || id >= 29) ? .stale : .online
            expected.append(
                Expected(
                    id: id, name: name, model: model ?? "unknown", status: status,
                    lanAddress: reports ? "10.0.\(id % 3).\(id)" : nil, temperature: reports ? temperature : nil,
                    terahashes: reports ? Double(id) : nil))
        }
        return (index, expected)
    }

    /// The expected order and filter, written out plainly.
    func reference(_ fleet: [Expected], _ query: MinerListQuery) -> [Int64] {
        let matching = fleet.filter { miner in
            (query.statuses.isEmpty || query.statuses.contains(miner.status))
                && (query.model == nil || query.model == miner.model)
                && (query.search.map { needle in
                    [String(miner.id), miner.name, miner.lanAddress ?? ""].contains {
                        $0.lowercased().contains(needle.lowercased())
                    }
                } ?? true)
        }
        func value(_ miner: Expected) -> Double? {
            switch query.sort {
            case .id: return 0
            case .temperature: return miner.temperature
            case .hashrate: return miner.terahashes.map { $0 * 1e12 }
            case .lastSeen:
                guard miner.lanAddress != nil else { return nil }
                return miner.id <= 4 || miner.id >= 29 ? -30 : 0
            }
        }
        return matching.sorted { lhs, rhs in
            switch (value(lhs), value(rhs)) {
            case (nil, nil): break
            case (nil, _): return false
            case (_, nil): return true
            case (let left?, let right?) where left != right:
                return query.order == .asc ? left < right : left > right
            default: break
            }
            return query.sort == .id && query.order == .desc ? lhs.id > rhs.id : lhs.id < rhs.id
        }.map(\.id)
    }

    /// Every page of `query`, following the cursors.
    func pages(_ index: AsicMinerOperationalIndex, _ query: MinerListQuery) async -> [MinerListPage] {
        let snapshot = await index.snapshot()
        var pages: [MinerListPage] = []
        var query = query
        repeat {
            let page = snapshot.list(query, now: now, staleAfterSeconds: staleAfter)
            pages.append(page)
            query.after = page.next
        } while query.after != nil && pages.count < 100
        return pages
    }

    static let queries: [MinerListQuery] = [
        MinerListQuery(limit: 7),
        MinerListQuery(sort: .id, order: .desc, limit: 6),
        MinerListQuery(sort: .temperature, order: .desc, limit: 4),
        MinerListQuery(sort: .temperature, order: .asc, limit: 5),
        MinerListQuery(sort: .hashrate, order: .desc, limit: 3),
        MinerListQuery(sort: .lastSeen, order: .asc, limit: 9),
        MinerListQuery(statuses: [.stale, .offline], sort: .temperature, order: .desc, limit: 2),
        MinerListQuery(model: "Antminer S19", sort: .hashrate, limit: 4),
        MinerListQuery(model: "unknown", limit: 3),
        MinerListQuery(search: "RACK-a", statuses: [.online], sort: .temperature, order: .desc, limit: 4),
        MinerListQuery(search: "10.0.1.", limit: 5),
        MinerListQuery(search: "2", sort: .hashrate, order: .desc, limit: 4),
        MinerListQuery(search: "no such miner", limit: 5),
    ]

    @Test(arguments: queries)
    func pagesFollowedToTheEndGiveEveryMatchOnceInOrder(_ query: MinerListQuery) async {
        let (index, fleet) = await fleet()
        let expected = reference(fleet, query)
        let pages = await pages(index, query)
        #expect(pages.flatMap(\.rows).map(\.id) == expected)
        #expect(pages.allSatisfy { $0.total == expected.count })
        #expect(pages.dropLast().allSatisfy { $0.rows.count == query.limit })
        #expect(pages.last?.next == nil)
    }

    @Test func aRowShowsTheRegistryTheLatestLogAndTheStatus() async throws {
        let (index, fleet) = await fleet()
        let page = await index.snapshot().list(
            MinerListQuery(limit: 500), now: now, staleAfterSeconds: staleAfter)
        let row = try #require(page.rows.first { $0.id == 2 })
        let miner = try #require(fleet.first { $0.id == 2 })
        #expect(row.name == "rack-B-2")
        #expect(row.model == "Antminer S19")
        #expect(row.status == .stale)
        #expect(row.lanAddress == "10.0.2.2")
        #expect(row.temperature == miner.temperature)
        #expect(row.hashesPerSecond == 2e12)
        #expect(row.lastSeen == now.adding(seconds: -30))
        let offline = try #require(page.rows.first { $0.id == 32 })
        #expect(offline.status == .offline && offline.lastSeen == nil && offline.temperature == nil)
    }

    @Test func theCursorStaysPutWhenMinersComeAndGoBeforeIt() async {
        let (index, fleet) = await fleet()
        let query = MinerListQuery(sort: .hashrate, order: .desc, limit: 5)
        let first = await index.snapshot().list(query, now: now, staleAfterSeconds: staleAfter)
        #expect(first.rows.map(\.id) == [30, 29, 28, 27, 26])
        // A miner hashing more than every row so far, and the first page's top miner deleted.
        await index.upsert(AsicMiner(id: 99, name: "new"))
        await index.put(
            AsicMinerLog(
                asicMinerId: 99, hashrate5Min: 1000, hashrateUnit: .terahashesPerSecond, uptime: "00:00:01:00",
                pools: [], hashboards: [], fanSpeeds: [], lanIp: "10.9.9.9", coinName: "bitcoin", power: 1),
            receivedAt: now)
        #expect(await index.delete(id: 30) == .applied)
        var next = query
        next.after = first.next
        let second = await index.snapshot().list(next, now: now, staleAfterSeconds: staleAfter)
        #expect(second.rows.map(\.id) == [25, 24, 23, 22, 21])
        #expect(second.total == fleet.count)
    }

    @Test func cursorsReadBackExactlyAndNothingElseReads() {
        for cursor in [
            MinerListCursor(sort: .temperature, order: .desc, value: 84.5, id: 7),
            MinerListCursor(sort: .hashrate, order: .asc, value: 1.234567890123e17, id: 0),
            MinerListCursor(sort: .lastSeen, order: .asc, value: nil, id: Int64.max),
            MinerListCursor(sort: .id, order: .desc, value: 0, id: 12),
            MinerListCursor(sort: .temperature, order: .asc, value: -0.0, id: 3),
        ] {
            #expect(MinerListCursor(text: cursor.text) == cursor, "\(cursor.text)")
        }
        let infinity = String(Double.infinity.bitPattern, radix: 36)
        for garbage in [
            "", "temperature.desc.1.2.3", "colour.asc.-.1", "id.up.-.1", "id.asc.-.-1", "id.asc.zz!.1",
            "temperature.asc.\(infinity).1", "id.asc.-.99999999999999999999",
        ] {
            #expect(MinerListCursor(text: garbage) == nil, "\(garbage)")
        }
    }
}
