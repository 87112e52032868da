/// Turns a rate into send slots: slot n is due `n / rate` seconds after the start, so messages leave evenly
/// spaced whatever the batch size. A sender that falls behind (the broker holding confirms) catches up by at
/// most `maximumBacklog` seconds of slots; older missed slots are dropped rather than sent as a burst.
public struct SendPacer: Sendable {
    /// Nil: unlimited.
    public let slotsPerSecond: Double?
    public let maximumBacklog: Double

    public init(slotsPerSecond: Double?, maximumBacklog: Double = 1) {
        self.slotsPerSecond = slotsPerSecond
        self.maximumBacklog = maximumBacklog
    }

    public var isPaced: Bool { slotsPerSecond != nil }

    /// Slots due by `elapsed` seconds, counted from the start.
    public func slotsDue(atElapsed elapsed: Double) -> Int64 {
        guard let slotsPerSecond else { return .max }
        return Int64((elapsed * slotsPerSecond).rounded(.down)) + 1
    }

    /// Which slot to send next, given the next one in sequence: skips ahead when more than the allowed backlog
    /// is overdue.
    public func nextSlot(after sent: Int64, atElapsed elapsed: Double) -> Int64 {
        guard let slotsPerSecond else { return sent }
        let oldestAllowed = slotsDue(atElapsed: elapsed) - Int64((maximumBacklog * slotsPerSecond).rounded(.up))
        return max(sent, oldestAllowed)
    }

    /// Seconds from the start at which `slot` becomes due.
    public func dueTime(ofSlot slot: Int64) -> Double {
        guard let slotsPerSecond else { return 0 }
        return Double(slot) / slotsPerSecond
    }
}
