import Foundation

/// A point in time as whole microseconds since 1970-01-01T00:00:00Z.
///
/// Integer microseconds rather than `Date`: the producers write microsecond timestamps, comparisons on the hot
/// path stay integer compares, and an `inserted_at` read and written back comes out byte-for-byte the same.
///
/// No conversion here traps. Int64 microseconds reach about 292,000 years either side of 1970; the converting
/// initialisers either saturate at those ends (for the service's own clock readings and durations) or, for
/// values from outside, return nil so that the caller can treat an impossible time as absent.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// Saturates: NaN becomes the epoch, and anything beyond the representable range its nearest end.
    public init(secondsSinceEpoch seconds: Double) {
        self.microsecondsSinceEpoch = Self.saturatingMicroseconds(seconds: seconds)
    }

    /// nil for NaN, an infinity, or a time Int64 microseconds cannot hold.
    public init?(exactlySecondsSinceEpoch seconds: Double) {
        guard let micros = Self.microseconds(seconds: seconds) else { return nil }
        self.microsecondsSinceEpoch = micros
    }

    public init(_ date: Date) {
        self.init(secondsSinceEpoch: date.timeIntervalSince1970)
    }

    public var secondsSinceEpoch: Double { Double(microsecondsSinceEpoch) / 1_000_000 }

    public var date: Date { Date(timeIntervalSince1970: secondsSinceEpoch) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// Saturates at the representable ends rather than overflowing.
    public func adding(seconds: Double) -> Timestamp {
        let delta = Self.saturatingMicroseconds(seconds: seconds)
        let (sum, overflow) = microsecondsSinceEpoch.addingReportingOverflow(delta)
        guard overflow else { return Timestamp(microsecondsSinceEpoch: sum) }
        return Timestamp(microsecondsSinceEpoch: delta < 0 ? .min : .max)
    }

    public var description: String { ISO8601Timestamp.format(self) }

    /// Whole microseconds in `seconds`, rounded to nearest, or nil when they do not fit in Int64.
    static func microseconds(seconds: Double) -> Int64? {
        let micros = (seconds * 1_000_000).rounded()
        // -2^63 and 2^63 are exact Doubles; Int64(micros) traps outside [-2^63, 2^63).
        guard micros.isFinite, micros >= -9_223_372_036_854_775_808.0, micros < 9_223_372_036_854_775_808.0 else {
            return nil
        }
        return Int64(micros)
    }

    static func saturatingMicroseconds(seconds: Double) -> Int64 {
        if let micros = microseconds(seconds: seconds) { return micros }
        if seconds.isNaN { return 0 }
        return seconds < 0 ? .min : .max
    }
}
