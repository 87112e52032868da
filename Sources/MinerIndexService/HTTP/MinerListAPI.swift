import Foundation
import MinerIndex

/// `GET /v1/<kind>_miners/list`: pages of the miner table (`MinerIndexSnapshot.list`).
///
/// A page is read from a snapshot of the index. Taking one is cheap, but while a snapshot lives the actor's next
/// write copies its tables, so requests share one snapshot per index for up to `snapshotLifetime`, and it is let
/// go after that even when no request comes: however many pages are asked for, the index copies its tables at most
/// once per lifetime, and holds no second copy once the requests stop.
actor MinerListSnapshots<Source: SnapshotSource> where Source.Miner: FleetHealthMiner, Source.Log: MinerListLog {
    static var snapshotLifetime: Duration { .seconds(1) }

    private let source: Source
    private var cached: (snapshot: MinerIndexSnapshot<Source.Miner, Source.Log>, generation: UInt64)?
    private var generation: UInt64 = 0

    init(source: Source) {
        self.source = source
    }

    func snapshot() async -> MinerIndexSnapshot<Source.Miner, Source.Log> {
        if let cached { return cached.snapshot }
        let snapshot = await source.snapshot()
        generation &+= 1
        cached = (snapshot, generation)
        let taken = generation
        Task { [weak self] in
            try? await Task.sleep(for: Self.snapshotLifetime)
            await self?.release(taken)
        }
        return snapshot
    }

    private func release(_ taken: UInt64) {
        if cached?.generation == taken { cached = nil }
    }
}

/// Runs list pages on a thread of their own at low priority: a page scans the fleet's registry (tens of
/// milliseconds at 100k miners), which must neither hold the cooperative pool that ingest needs nor wait behind a
/// keyframe build.
enum MinerListQueue {
    private static let worker = LowPriorityWorker(name: "miner-index.list-pages", niceness: 10)

    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await worker.run(work)
    }
}

/// The list's query parameters, checked: any that is unknown, repeated or malformed is a 400 naming it.
enum MinerListParameters {
    static let names: Set<String> = ["q", "status", "model", "sort", "order", "limit", "cursor"]
    static let maximumSearchLength = 100
    static let maximumModelLength = 200

    static func query(_ parameters: [(name: String, value: String)]) throws(ReadAPI.Failure) -> MinerListQuery {
        var seen: [String: String] = [:]
        for (name, value) in parameters {
            guard names.contains(name) else {
                throw .badQuery(
                    "unknown parameter '\(name.prefix(40))'; the list takes \(names.sorted().joined(separator: ", "))")
            }
            guard seen.updateValue(value, forKey: name) == nil else { throw .badQuery("\(name) is given twice") }
        }
        var query = MinerListQuery()
        if let search = seen["q"], !search.isEmpty {
            guard search.count <= maximumSearchLength else {
                throw .badQuery("q is longer than \(maximumSearchLength) characters")
            }
            query.search = search
        }
        if let statuses = seen["status"], !statuses.isEmpty {
            for name in statuses.split(separator: ",", omittingEmptySubsequences: false) {
                guard let status = MinerListQuery.Status(rawValue: String(name)) else {
                    throw .badQuery("status '\(name.prefix(40))' is not one of \(choices(MinerListQuery.Status.self))")
                }
                query.statuses.insert(status)
            }
        }
        if let model = seen["model"], !model.isEmpty {
            guard model.count <= maximumModelLength else {
                throw .badQuery("model is longer than \(maximumModelLength) characters")
            }
            query.model = model
        }
        if let sort = seen["sort"] {
            guard let key = MinerListQuery.SortKey(rawValue: sort) else {
                throw .badQuery("sort '\(sort.prefix(40))' is not one of \(choices(MinerListQuery.SortKey.self))")
            }
            query.sort = key
        }
        if let order = seen["order"] {
            guard let value = MinerListQuery.Order(rawValue: order) else {
                throw .badQuery("order '\(order.prefix(40))' is not one of \(choices(MinerListQuery.Order.self))")
            }
            query.order = value
        }
        if let limit = seen["limit"] {
            guard let number = Int(limit), (1...MinerListQuery.maximumLimit).contains(number) else {
                throw .badQuery(
                    "limit '\(limit.prefix(40))' is not a whole number from 1 to \(MinerListQuery.maximumLimit)")
            }
            query.limit = number
        }
        if let text = seen["cursor"], !text.isEmpty {
            guard let cursor = MinerListCursor(text: text) else {
                throw .badQuery("cursor '\(text.prefix(60))' is not a cursor this list gave")
            }
            guard cursor.sort == query.sort, cursor.order == query.order else {
                throw .badQuery(
                    "cursor belongs to sort=\(cursor.sort.rawValue)&order=\(cursor.order.rawValue), not to this sort and order"
                )
            }
            query.after = cursor
        }
        return query
    }

    private static func choices<Choice: CaseIterable & RawRepresentable>(_: Choice.Type) -> String
    where Choice.RawValue == String {
        Choice.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
