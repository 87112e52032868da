/// A page of the miner table: the registered miners of one kind that match a search and filters, in a chosen
/// order, `limit` at a time, each page after a cursor. The browser (and any client) gets a page, never the fleet.
///
/// The cursor is the position of the last row of the previous page (its sort value and id), so paging is stable:
/// a miner that registers, goes or moves elsewhere in the order neither shifts nor repeats the rows of the pages
/// that follow, and a miner whose own sort value moved past the cursor since is seen once more or not at all.
public struct MinerListQuery: Sendable, Hashable {
    public enum Status: String, CaseIterable, Sendable {
        case online, stale, offline, disabled
    }

    public enum SortKey: String, CaseIterable, Sendable {
        case id, temperature, hashrate
        case lastSeen = "last_seen"
    }

    public enum Order: String, CaseIterable, Sendable {
        case asc, desc
    }

    public static let maximumLimit = 500

    /// Matched, ignoring ASCII case, within the decimal id, the registry name or the LAN address; nil matches all.
    public var search: String?
    /// Empty: every status.
    public var statuses: Set<Status>
    /// The registry model (`unknown` for none, as in `model_map`); nil: every model.
    public var model: String?
    public var sort: SortKey
    public var order: Order
    /// 1…`maximumLimit`.
    public var limit: Int
    public var after: MinerListCursor?

    public init(
        search: String? = nil, statuses: Set<Status> = [], model: String? = nil, sort: SortKey = .id,
        order: Order = .asc, limit: Int = 100, after: MinerListCursor? = nil
    ) {
        self.search = search
        self.statuses = statuses
        self.model = model
        self.sort = sort
        self.order = order
        self.limit = min(max(1, limit), Self.maximumLimit)
        self.after = after
    }
}

/// Where a page ended: the last row's sort value (nil when it had none) and id, under the order it was sorted by.
public struct MinerListCursor: Sendable, Hashable {
    public var sort: MinerListQuery.SortKey
    public var order: MinerListQuery.Order
    public var value: Double?
    public var id: Int64

    public init(sort: MinerListQuery.SortKey, order: MinerListQuery.Order, value: Double?, id: Int64) {
        self.sort = sort
        self.order = order
        self.value = value
        self.id = id
    }

    /// `<sort>.<order>.<value or ->.<id>`, hex-free and URL-safe: the value is written as its bit pattern, so a
    /// cursor names the exact position whatever the value's decimal spelling.
    public var text: String {
        let valueText = value.map { String($0.bitPattern, radix: 36) } ?? "-"
        return "\(sort.rawValue).\(order.rawValue).\(valueText).\(id)"
    }

    /// nil for anything `text` did not write.
    public init?(text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let sort = MinerListQuery.SortKey(rawValue: String(parts[0])),
            let order = MinerListQuery.Order(rawValue: String(parts[1])), let id = Int64(parts[3]), id >= 0
        else { return nil }
        var value: Double?
        if parts[2] != "-" {
            guard let bits = UInt64(parts[2], radix: 36) else { return nil }
            let decoded = Double(bitPattern: bits)
            guard decoded.isFinite else { return nil }
            value = decoded
        }
        self.init(sort: sort, order: order, value: value, id: id)
    }
}

/// One row of the table.
public struct MinerListRow: Sendable, Hashable {
    public var id: Int64
    public var name: String?
    /// The registry model; nil for kinds without one (rigs).
    public var model: String?
    public var status: MinerListQuery.Status
    public var lanAddress: String?
    /// The highest sensor of the latest log.
    public var temperature: Double?
    /// The latest log's hashrate, summed over its coins.
    public var hashesPerSecond: Double?
    /// When the latest live log was observed; nil without one.
    public var lastSeen: Timestamp?
}

public struct MinerListPage: Sendable, Hashable {
    public var rows: [MinerListRow]
    /// Miners matching the search and filters, on every page.
    public var total: Int
    /// Where the next page starts; nil on the last page.
    public var next: MinerListCursor?
}

/// What the table reads of a log beyond the fleet-health fields.
public protocol MinerListLog: FleetHealthLog {
    var listedLanAddress: String? { get }
}

extension AsicMinerLog: MinerListLog {
    public var listedLanAddress: String? { lanIp }
}

extension CpuGpuMinerLog: MinerListLog {
    public var listedLanAddress: String? { lanIp }
}

extension MinerIndexSnapshot where Miner: FleetHealthMiner, Log: MinerListLog {
    /// One page of `query`, with statuses at `now` (stale from `staleAfterSeconds` without a log). One pass over
    /// the registry: each miner is matched, and only the best `limit` after the cursor are kept in order, so a page
    /// costs the fleet's size once, not a sort of the fleet. Specialised for both kinds: called across the module
    /// boundary, the generic body read every field through witness tables, ten times slower.
    @_specialize(where Miner == AsicMiner, Log == AsicMinerLog)
    @_specialize(where Miner == CpuGpuMiner, Log == CpuGpuMinerLog)
    public func list(_ query: MinerListQuery, now: Timestamp, staleAfterSeconds: Double) -> MinerListPage {
        let staleBefore = now.microsecondsSinceEpoch &- Timestamp.saturatingMicroseconds(seconds: staleAfterSeconds)
        let needle = query.search.map { Array($0.utf8) } ?? []
        let order = MinerListOrder(sort: query.sort, order: query.order)
        let after = query.after.map { MinerListPosition(value: $0.value, id: $0.id) }
        var best: [MinerListPosition] = []
        best.reserveCapacity(query.limit + 1)
        var total = 0
        var afterCursor = 0
        for (id, registration) in registry.entries {
            let entry = operational[id]
            let status = status(activated: registration.activated, entry, staleBefore: staleBefore)
            if !query.statuses.isEmpty, !query.statuses.contains(status) { continue }
            if let model = query.model, !Miner.hasModelBreakdown || registration.miner.breakdownModel != model {
                continue
            }
            if !needle.isEmpty, !matches(needle, id: id, name: registration.miner.name, entry: entry) { continue }
            total += 1
            let position = MinerListPosition(value: sortValue(query.sort, entry), id: id)
            if let after, !order.precedes(after, position) { continue }
            afterCursor += 1
            if best.count == query.limit, let last = best.last, !order.precedes(position, last) { continue }
            best.insert(position, at: best.partitioningIndex { order.precedes(position, $0) })
            if best.count > query.limit { best.removeLast() }
        }
        let next = best.last.flatMap { last in
            afterCursor > best.count
                ? MinerListCursor(sort: query.sort, order: query.order, value: last.value, id: last.id) : nil
        }
        return MinerListPage(rows: best.map { row(id: $0.id, staleBefore: staleBefore) }, total: total, next: next)
    }

    private func status(activated: Bool, _ entry: OperationalMap<Log>.Entry?, staleBefore: Int64)
        -> MinerListQuery.Status
    {
        guard activated else { return .disabled }
        guard let entry else { return .offline }
        return entry.observedAt.microsecondsSinceEpoch <= staleBefore ? .stale : .online
    }

    private func sortValue(_ key: MinerListQuery.SortKey, _ entry: OperationalMap<Log>.Entry?) -> Double? {
        switch key {
        case .id: return 0
        case .temperature: return entry?.log.peakTemperature
        case .hashrate: return entry.map { hashesPerSecond($0.log) }
        case .lastSeen: return entry.map { Double($0.observedAt.microsecondsSinceEpoch) }
        }
    }

    private func hashesPerSecond(_ log: Log) -> Double {
        var sum = 0.0
        log.forEachCoinHashrate { _, hashrate in sum += hashrate.hashesPerSecond }
        return sum
    }

    private func matches(_ needle: [UInt8], id: Int64, name: String?, entry: OperationalMap<Log>.Entry?) -> Bool {
        if id.decimalDigitsContain(needle) { return true }
        if let name, name.utf8.containsIgnoringASCIICase(needle) { return true }
        if let address = entry?.log.listedLanAddress, address.utf8.containsIgnoringASCIICase(needle) { return true }
        return false
    }

    private func row(id: Int64, staleBefore: Int64) -> MinerListRow {
        let registration = registry.entries[id]
        let entry = operational[id]
        let status = status(activated: registration?.activated ?? false, entry, staleBefore: staleBefore)
        return MinerListRow(
            id: id, name: registration?.miner.name,
            model: Miner.hasModelBreakdown ? registration?.miner.breakdownModel : nil, status: status,
            lanAddress: entry?.log.listedLanAddress, temperature: entry?.log.peakTemperature,
            hashesPerSecond: entry.map { hashesPerSecond($0.log) }, lastSeen: entry?.observedAt)
    }
}

/// A row's place: its sort value (nil sorts last in either order) and its id, which breaks ties.
struct MinerListPosition: Sendable {
    let value: Double?
    let id: Int64
}

struct MinerListOrder {
    let sort: MinerListQuery.SortKey
    let order: MinerListQuery.Order

    /// Whether `lhs` comes strictly before `rhs`. Ids break ties ascending, except that sorting by id descending
    /// takes them descending.
    func precedes(_ lhs: MinerListPosition, _ rhs: MinerListPosition) -> Bool {
        switch (lhs.value, rhs.value) {
        case (nil, nil): break
        case (nil, _): return false
        case (_, nil): return true
        case (let left?, let right?):
            if left != right { return order == .asc ? left < right : left > right }
        }
        return sort == .id && order == .desc ? lhs.id > rhs.id : lhs.id < rhs.id
    }
}

extension Array {
    /// The first index whose element satisfies `belongsAfter`, for an array already partitioned by it.
    fileprivate func partitioningIndex(where belongsAfter: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if belongsAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

extension String.UTF8View {
    /// Whether `needle` occurs here, ASCII letters compared without case; reads a native string in place.
    fileprivate func containsIgnoringASCIICase(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        return withContiguousStorageIfAvailable { $0.containsIgnoringASCIICase(needle) }
            ?? Array(self).withUnsafeBufferPointer { $0.containsIgnoringASCIICase(needle) }
    }
}

extension UnsafeBufferPointer<UInt8> {
    fileprivate func containsIgnoringASCIICase(_ needle: [UInt8]) -> Bool {
        guard count >= needle.count else { return false }
        for start in 0...(count - needle.count) {
            var offset = 0
            while offset < needle.count, lowered(self[start + offset]) == lowered(needle[offset]) { offset += 1 }
            if offset == needle.count { return true }
        }
        return false
    }
}

extension Int64 {
    /// Whether the decimal spelling of this non-negative id contains `needle`, without making a string.
    fileprivate func decimalDigitsContain(_ needle: [UInt8]) -> Bool {
        guard needle.count <= 19, self >= 0 else { return false }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var position = buffer.count
            var rest = self
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            return UnsafeBufferPointer(rebasing: buffer[position...]).containsIgnoringASCIICase(needle)
        }
    }
}

@inline(__always)
private func lowered(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}
