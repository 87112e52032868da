/// Exponential backoff with jitter for reconnects: the n-th consecutive failure waits about
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
        let initialSeconds = Double(initial.components.seconds) + Double(initial.components.attoseconds) / 1e18
        let maximumSeconds = Double(maximum.components.seconds) + Double(maximum.components.attoseconds) / 1e18
        let exponent = min(Double(max(0, failures)), 64)
        let base = min(maximumSeconds, initialSeconds * pow(multiplier, exponent))
        let spread = base * jitter * (2 * random - 1)
        let seconds = min(maximumSeconds, max(0, base + spread))
        return .milliseconds(Int64(seconds * 1000))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
