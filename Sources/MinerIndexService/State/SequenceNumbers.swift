import Logging
import Synchronization

/// The `sequence` of every output exchange, which must only ever grow, across restarts too.
///
/// A number is never published unless a store holds a reservation at least as high: on start the counters resume
/// from the stored reservation, which is raised (durably) before the first publish and again at every checkpoint.
/// A crash between a publish and a checkpoint therefore never reuses a number; it only leaves a gap.
public final class SequenceNumbers: Sendable {
    /// How far ahead of the last published number a reservation reaches: at one snapshot per second per exchange,
    /// checkpoints can fail for a quarter of an hour before a crash could repeat a number.
    public static let reservation: UInt64 = 1000
    public static let counterPrefix = "sequence."

    private struct State {
        var current: [String: UInt64]
        var reserved: [String: UInt64]
        var warned: Set<String> = []
    }

    private let state: Mutex<State>
    private let logger: Logger

    /// `resumingFrom`: the stored reservations (counter name → value); without a store, empty.
    public init(resumingFrom stored: [String: Int64] = [:], persistent: Bool = false, logger: Logger) {
        var current: [String: UInt64] = [:]
        for (name, value) in stored where name.hasPrefix(Self.counterPrefix) && value > 0 {
            current[String(name.dropFirst(Self.counterPrefix.count))] = UInt64(value)
        }
        state = Mutex(State(current: current, reserved: persistent ? current : [:]))
        self.logger = logger
        persistentMode = persistent
    }

    private let persistentMode: Bool

    /// The next number for `exchange`.
    public func next(_ exchange: String) -> UInt64 {
        let (value, unreserved) = state.withLock { state -> (UInt64, Bool) in
            let value = state.current[exchange, default: 0] + 1
            state.current[exchange] = value
            let unreserved =
                persistentMode && value > state.reserved[exchange, default: 0]
                && state.warned.insert(exchange).inserted
            return (value, unreserved)
        }
        if unreserved {
            logger.warning(
                "publishing a sequence number no store reservation covers yet (checkpoints failing?); a crash now could repeat it",
                metadata: ["exchange": "\(exchange)", "sequence": "\(value)"])
        }
        return value
    }

    /// Continues from stored reservations if they are ahead: a standby taking over resumes where the last leader
    /// reserved, never below it.
    public func resume(from stored: [String: Int64]) {
        state.withLock { state in
            for (name, value) in stored where name.hasPrefix(Self.counterPrefix) && value > 0 {
                let exchange = String(name.dropFirst(Self.counterPrefix.count))
                state.current[exchange] = max(state.current[exchange, default: 0], UInt64(value))
                state.reserved[exchange] = max(state.reserved[exchange, default: 0], UInt64(value))
            }
        }
    }

    /// Counters to store so that every number up to `reservation` past the current ones is covered.
    public func reservations(for exchanges: [String]) -> [String: Int64] {
        state.withLock { state in
            var counters: [String: Int64] = [:]
            for exchange in exchanges {
                counters[Self.counterPrefix + exchange] = Int64(
                    clamping: state.current[exchange, default: 0] + Self.reservation)
            }
            return counters
        }
    }

    /// Records that the store now holds `counters`.
    public func reserved(_ counters: [String: Int64]) {
        state.withLock { state in
            for (name, value) in counters where name.hasPrefix(Self.counterPrefix) && value > 0 {
                let exchange = String(name.dropFirst(Self.counterPrefix.count))
                state.reserved[exchange] = max(state.reserved[exchange, default: 0], UInt64(value))
                if UInt64(value) > state.current[exchange, default: 0] { state.warned.remove(exchange) }
            }
        }
    }
}
