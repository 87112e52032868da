/// How many listed logs are stale: at least `staleAfter` old at the status clock, which the expiry sweep moves
/// (`advance`), as it moves the offline cutoff. A log is stale exactly when it was observed before
/// `staleBefore`. The listed logs not yet stale are kept oldest first, so a sweep takes the ones that crossed the
/// boundary from the front and counts them, without visiting any other; listing and unlisting a log cost one
/// ordered insertion or removal, or one count when it is already stale. Online is the live count minus the stale
/// one.
struct LiveStatusTracker: Sendable {
    /// A listed log's place in observation order; the id makes it unique.
    private struct Observation: Comparable, Sendable {
        let microseconds: Int64
        let id: Int64

        static func < (lhs: Observation, rhs: Observation) -> Bool {
            (lhs.microseconds, lhs.id) < (rhs.microseconds, rhs.id)
        }
    }

    private let staleAfterMicroseconds: Int64
    /// A listed log observed before this instant is stale. Moves forward only.
    private(set) var staleBefore: Int64 = .min
    private(set) var staleCount = 0
    /// The listed logs observed at or after `staleBefore`, oldest first.
    private var fresh = SortedSet<Observation>()

    init(staleAfterMicroseconds: Int64) {
        self.staleAfterMicroseconds = max(0, staleAfterMicroseconds)
    }

    mutating func list(id: Int64, observedAt: Timestamp) {
        let microseconds = observedAt.microsecondsSinceEpoch
        if microseconds < staleBefore {
            staleCount += 1
        } else {
            fresh.insert(Observation(microseconds: microseconds, id: id))
        }
    }

    mutating func unlist(id: Int64, observedAt: Timestamp) {
        let microseconds = observedAt.microsecondsSinceEpoch
        if microseconds < staleBefore {
            staleCount -= 1
        } else {
            fresh.remove(Observation(microseconds: microseconds, id: id))
        }
    }

    /// Moves the status clock to `now`: the listed logs observed at or before `now - staleAfter` become stale.
    /// A clock that steps back changes nothing. Returns whether the count changed.
    mutating func advance(to now: Timestamp) -> Bool {
        let (difference, overflow) = now.microsecondsSinceEpoch.subtractingReportingOverflow(staleAfterMicroseconds)
        let newStaleBefore = overflow ? Int64.min : difference &+ 1
        guard newStaleBefore > staleBefore else { return false }
        staleBefore = newStaleBefore
        let becameStale = fresh.removeAll(below: Observation(microseconds: newStaleBefore, id: .min))
        staleCount += becameStale
        return becameStale > 0
    }
}
