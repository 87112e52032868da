/// How many listed logs are stale: at least `staleAfter` old at the status clock, which the expiry sweep moves
/// (`advance`), as it moves the offline cutoff. A log is stale exactly when it was observed before
/// `staleBefore`; so listing and unlisting a log adjust the count by that one comparison, and only the logs
/// crossing the cutoff between two sweeps are visited, found through a schedule of observation times like the
/// expiry's. Online is then the live count minus the stale one, with no per-miner state.
struct LiveStatusTracker: Sendable {
    private let staleAfterMicroseconds: Int64
    /// A listed log observed before this instant is stale. Moves forward only.
    private(set) var staleBefore: Int64 = .min
    private(set) var staleCount = 0
    private var schedule = ExpirySchedule(bucketWidthMicroseconds: 1_000_000)

    init(staleAfterMicroseconds: Int64) {
        self.staleAfterMicroseconds = max(0, staleAfterMicroseconds)
    }

    mutating func list(id: Int64, observedAt: Timestamp) {
        if observedAt.microsecondsSinceEpoch < staleBefore {
            staleCount += 1
        } else {
            // Filed on every listing: a filing left behind by an earlier listing may already have been used.
            schedule.file(id, at: observedAt, previous: nil)
        }
    }

    mutating func unlist(observedAt: Timestamp) {
        if observedAt.microsecondsSinceEpoch < staleBefore { staleCount -= 1 }
    }

    /// Moves the status clock to `now` and counts the listed logs that became stale; `listedObservation` gives a
    /// listed miner's observation time, nil if the miner has no listed log. Returns whether the count changed.
    mutating func advance(to now: Timestamp, listedObservation: (Int64) -> Timestamp?) -> Bool {
        let (difference, overflow) = now.microsecondsSinceEpoch.subtractingReportingOverflow(staleAfterMicroseconds)
        let newStaleBefore = overflow ? Int64.min : difference &+ 1
        guard newStaleBefore > staleBefore else { return false }
        let previousStaleBefore = staleBefore
        var becameStale = 0
        // An id can be filed more than once (relisted, or a newer log in an older bucket): count it once.
        var counted = Set<Int64>()
        var pending = schedule
        schedule = ExpirySchedule(bucketWidthMicroseconds: 1)
        pending.sweep(before: Timestamp(microsecondsSinceEpoch: newStaleBefore)) { id in
            guard let observedAt = listedObservation(id)?.microsecondsSinceEpoch else { return true }
            guard observedAt < newStaleBefore else { return false }
            if observedAt >= previousStaleBefore, counted.insert(id).inserted { becameStale += 1 }
            return true
        }
        schedule = pending
        staleBefore = newStaleBefore
        staleCount += becameStale
        return becameStale > 0
    }
}
