/// Watts per coin over the listed logs (`coin_power_map`), kept under the producers' interned raw spellings
/// (the reference count of a spelling is the number of listed logs on it) and folded into display names only
/// when read. The model breakdown uses the same ids.
struct CoinPowerTotals: Sendable {
    private(set) var table = InternTable()
    private var watts: [CompensatedSum] = []

    /// Counts a log on `rawCoinName` in and returns the spelling's id.
    mutating func add(_ rawCoinName: String, watts value: Double) -> InternTable.ID {
        let id = table.retain(rawCoinName)
        while watts.count < table.capacity { watts.append(CompensatedSum()) }
        watts[Int(id)].add(value)
        return id
    }

    mutating func remove(_ id: InternTable.ID, watts value: Double) {
        if table.release(id) {
            watts[Int(id)] = CompensatedSum()
        } else {
            watts[Int(id)].add(-value)
        }
    }

    /// The same spelling's next log: its watts move by the difference.
    mutating func move(_ id: InternTable.ID, from old: Double, to new: Double) {
        watts[Int(id)].add(-old)
        watts[Int(id)].add(new)
    }

    func matches(_ id: InternTable.ID, _ rawCoinName: String) -> Bool { table.matches(id, rawCoinName) }

    func rawName(_ id: InternTable.ID) -> String { table.strings[Int(id)] }

    func figures() -> [String: Double] {
        var byDisplayName: [String: Double] = [:]
        table.forEachInUse { id, rawName, _ in
            byDisplayName[CoinName.normalized(rawName), default: 0] += watts[Int(id)].value
        }
        return byDisplayName
    }
}
