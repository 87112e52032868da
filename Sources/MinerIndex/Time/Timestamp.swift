import Foundation

/// A point in time as whole microseconds since 1970-01-01T00:00:00Z.
///
/// Integer microseconds rather than `Date`: the producers write microsecond timestamps, comparisons on the hot
/// path stay integer compares, and an `inserted_at` read and written back comes out byte-for-byte the same.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    public init(secondsSinceEpoch seconds: Double) {
        self.microsecondsSinceEpoch = Int64((seconds * 1_000_000).rounded())
    }

    public init(_ date: Date) {
        self.init(secondsSinceEpoch: date.timeIntervalSince1970)
    }

    public var secondsSinceEpoch: Double { Double(microsecondsSinceEpoch) / 1_000_000 }

    public var date: Date { Date(timeIntervalSince1970: secondsSinceEpoch) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    public func adding(seconds: Double) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: microsecondsSinceEpoch + Int64((seconds * 1_000_000).rounded()))
    }

    public var description: String { ISO8601Timestamp.format(self) }
}
