import Foundation

/// Once a second on stderr: sent, confirmed, the send rate over the last second, nacks and failures.
public struct ProgressReporter: Sendable {
    let counters: LoadCounters
    let window: PublishWindow

    public init(counters: LoadCounters, window: PublishWindow) {
        self.counters = counters
        self.window = window
    }

    /// Runs until cancelled.
    public func run(startedAt: ContinuousClock.Instant) async {
        var previous = counters.snapshot
        var previousAt = startedAt
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            let now = ContinuousClock.now
            let counts = counters.snapshot
            let rate = Double(counts.sent - previous.sent) / (now - previousAt).secondsValue
            FileHandle.standardError.write(
                Data(
                    (Self.line(
                        counts, rate: rate, elapsed: (now - startedAt).secondsValue,
                        inFlight: window.inUse) + "\n").utf8))
            previous = counts
            previousAt = now
        }
    }

    static func line(_ counts: LoadCounts, rate: Double, elapsed: Double, inFlight: Int) -> String {
        var text =
            "[\(String(format: "%6.1f", elapsed))s] sent \(counts.sent)  confirmed \(counts.confirmed)  "
            + "rate \(Int(rate.rounded()))/s  in flight \(inFlight)  nacks \(counts.nacked)"
        if counts.failed > 0 { text += "  failed \(counts.failed)" }
        if counts.republished > 0 { text += "  republished \(counts.republished)" }
        if counts.unroutable > 0 { text += "  unroutable \(counts.unroutable)" }
        return text
    }
}
