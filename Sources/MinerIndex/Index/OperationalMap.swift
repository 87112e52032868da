/// The latest log of each live miner and when it was observed, with the schedule that expires it.
public struct OperationalMap<Log: MinerLog>: Sendable {
    public struct Entry: Sendable {
        private let box: SharedBox<Log>
        public let observedAt: Timestamp
        /// The index revision at which this entry was stored, which lets encoders reuse cached bytes.
        public let revision: UInt64

        init(log: Log, observedAt: Timestamp, revision: UInt64) {
            box = SharedBox(log)
            self.observedAt = observedAt
            self.revision = revision
        }

        /// Yielded in place rather than returned: returning copied the whole record out of its box, a retain and
        /// a release for each of its strings and arrays, for every log a keyframe or delta wrote.
        public var log: Log {
            _read { yield box.value }
        }
    }

    public private(set) var entries: [Int64: Entry] = [:]
    private var schedule: ExpirySchedule

    init(bucketWidthMicroseconds: Int64) {
        schedule = ExpirySchedule(bucketWidthMicroseconds: bucketWidthMicroseconds)
    }

    public subscript(id: Int64) -> Entry? { entries[id] }

    /// What `put` did.
    enum PutOutcome {
        /// An entry observed later is held; nothing changed.
        case olderThanHeld
        /// Stored, replacing `previous` if there was one.
        case stored(previous: Entry?)
    }

    /// Stores `log` unless an entry observed later is already held; a log observed at the same instant replaces
    /// the held one, so a redelivery is harmless.
    mutating func put(_ log: Log, observedAt: Timestamp, revision: UInt64) -> PutOutcome {
        let id = log.minerId
        // One hash lookup for a miner already held, the usual case, instead of a read and then a write.
        guard let position = entries.index(forKey: id) else {
            entries[id] = Entry(log: log, observedAt: observedAt, revision: revision)
            schedule.file(id, at: observedAt, previous: nil)
            return .stored(previous: nil)
        }
        let previous = entries.values[position]
        if observedAt < previous.observedAt { return .olderThanHeld }
        entries.values[position] = Entry(log: log, observedAt: observedAt, revision: revision)
        schedule.file(id, at: observedAt, previous: previous.observedAt)
        return .stored(previous: previous)
    }

    @discardableResult
    mutating func remove(_ id: Int64) -> Entry? { entries.removeValue(forKey: id) }

    /// Removes every entry observed strictly before `cutoff` and returns them.
    mutating func expire(before cutoff: Timestamp) -> [(id: Int64, entry: Entry)] {
        var removed: [(id: Int64, entry: Entry)] = []
        // Swapped out so the sweep's callback may change `entries` without overlapping access to `self`.
        var pending = schedule
        schedule = ExpirySchedule(bucketWidthMicroseconds: 1)
        pending.sweep(before: cutoff) { id in
            guard let entry = entries[id], entry.observedAt < cutoff else { return false }
            entries[id] = nil
            removed.append((id, entry))
            return true
        }
        schedule = pending
        return removed
    }
}
