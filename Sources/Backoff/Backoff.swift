#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exponential backoff with jitter, for every retry in the project (reconnects, state-store writes and reads): the
/// n-th consecutive failure waits about
/// `initial × multiplier^n`, capped at `maximum`, each delay spread by ±`jitter` so that many clients restarted
/// together do not reconnect in lockstep.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    public var jitter: Double

    public init(
        initial: Duration = .milliseconds(500),
        maximum: Duration = .seconds(30),
        multiplier: Double = 2,
        jitter: Double = 0.2
    ) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    public func delay(afterFailures failures: Int, random: Double = .random(in: 0...1)) -> Duration {
        let initialSeconds = Self.seconds(initial)
        let maximumSeconds = Self.seconds(maximum)
        let exponent = min(Double(max(0, failures)), 64)
        let base = min(maximumSeconds, initialSeconds * pow(multiplier, exponent))
        let spread = base * jitter * (2 * random - 1)
        let seconds = min(maximumSeconds, max(0, base + spread))
        return .milliseconds(Int64(seconds * 1000))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
