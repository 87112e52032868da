import Foundation

/// Durations as operators write them: `250ms`, `1s`, `1.5s`, `2m`, `1h`. A bare number means seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
            return milliseconds(value * seconds * 1000)
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        return milliseconds(value * 1000)
    }

    /// nil past Int64 milliseconds (about 292 million years), where `Int64(_:)` would trap.
    private static func milliseconds(_ value: Double) -> Duration? {
        let rounded = value.rounded()
        guard rounded < 9_223_372_036_854_775_808.0 else { return nil }
        return .milliseconds(Int64(rounded))
    }

    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 3_600_000 == 0, milliseconds > 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}
