/// Small integer ids for the strings the fleet-health figures group by (pool addresses, coin spellings, models),
/// with a count of references to each. The per-log path compares a string with the one its slot had last time
/// (`matches`) instead of hashing it, and the totals live in arrays indexed by id. An id is freed, and its string
/// forgotten, when its last reference goes, so the table holds only the strings in use however many pass by.
struct InternTable: Sendable {
    typealias ID = Int32

    private(set) var strings: [String] = []
    /// References per id; 0 for a free id.
    private(set) var references: [Int] = []
    private var idByString: [String: ID] = [:]
    private var freeIDs: [ID] = []

    /// One past the largest id ever handed out: arrays indexed by id need this many slots.
    var capacity: Int { strings.count }

    func matches(_ id: ID, _ string: String) -> Bool {
        id >= 0 && Int(id) < strings.count && references[Int(id)] > 0 && strings[Int(id)] == string
    }

    func id(of string: String) -> ID? { idByString[string] }

    /// The id of `string`, with one more reference to it.
    mutating func retain(_ string: String) -> ID {
        let id: ID
        if let known = idByString[string] {
            id = known
        } else if let reused = freeIDs.popLast() {
            id = reused
            strings[Int(id)] = string
            idByString[string] = id
        } else {
            id = ID(strings.count)
            strings.append(string)
            references.append(0)
            idByString[string] = id
        }
        references[Int(id)] += 1
        return id
    }

    /// One more reference to an id in use.
    mutating func retain(_ id: ID) {
        references[Int(id)] += 1
    }

    /// One reference fewer; returns true when that was the last and the id is now free.
    @discardableResult
    mutating func release(_ id: ID) -> Bool {
        references[Int(id)] -= 1
        guard references[Int(id)] <= 0 else { return false }
        references[Int(id)] = 0
        idByString[strings[Int(id)]] = nil
        strings[Int(id)] = ""
        freeIDs.append(id)
        return true
    }

    /// Every id in use with its string and reference count.
    func forEachInUse(_ body: (ID, String, Int) -> Void) {
        for index in strings.indices where references[index] > 0 { body(ID(index), strings[index], references[index]) }
    }
}
