import Foundation

/// The end-of-run report: plain text for people, one JSON object with `--json` for scripts and benchmarks.
public struct LoadSummary: Sendable, Codable {
    public var broker: String
    public var exchange: String
    public var seed: UInt64
    public var asicMiners: Int
    public var cpuGpuMiners: Int
    public var reportIntervalSeconds: Double
    public var requestedRate: String
    public var sendSeconds: Double
    public var counts: LoadCounts
    /// Confirmed messages per second over the send phase.
    public var achievedRate: Double
    /// How late the generator handed its batches over against the pace (see `ScheduleDelays`).
    public var scheduleDelay: LagSummary
    public var cpu: CPU
    public var verification: VerificationReport?

    /// miner-load's own CPU time: over the send phase, per message sent in it, and over the whole run (which
    /// adds registration and the end of --verify).
    public struct CPU: Sendable, Codable {
        public var sendSeconds: Double
        public var totalSeconds: Double
        public var microsecondsPerMessage: Double?

        init(sendSeconds: Double, totalSeconds: Double, sendPhaseMessages: Int) {
            self.sendSeconds = sendSeconds
            self.totalSeconds = totalSeconds
            microsecondsPerMessage = sendPhaseMessages > 0 ? sendSeconds * 1e6 / Double(sendPhaseMessages) : nil
        }

        enum CodingKeys: String, CodingKey {
            case sendSeconds = "send_seconds"
            case totalSeconds = "total_seconds"
            case microsecondsPerMessage = "microseconds_per_message"
        }
    }

    enum CodingKeys: String, CodingKey {
        case broker, exchange, seed, counts, verification
        case asicMiners = "asic_miners"
        case cpuGpuMiners = "cpu_gpu_miners"
        case reportIntervalSeconds = "report_interval_seconds"
        case requestedRate = "requested_rate"
        case sendSeconds = "send_seconds"
        case achievedRate = "achieved_rate"
        case scheduleDelay = "schedule_delay"
        case cpu
    }

    /// Fails only when verification was asked for and did not pass.
    public var succeeded: Bool { verification?.passed ?? true }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public func text() -> String {
        var lines: [String] = []
        lines.append(
            "miner-load: \(asicMiners) ASIC + \(cpuGpuMiners) CPU/GPU miners, seed \(seed), report every "
                + "\(Self.seconds(reportIntervalSeconds)), rate \(requestedRate), to '\(exchange)' at \(broker)")
        lines.append(
            "sent \(counts.sent) in \(Self.seconds(sendSeconds)) (\(counts.logs) logs, \(counts.upserts) upserts, "
                + "\(counts.malformed) malformed, \(counts.probes) lag probes); confirmed \(counts.confirmed), "
                + "\(Int(achievedRate.rounded())) msg/s")
        if let p99 = scheduleDelay.p99, let max = scheduleDelay.max {
            lines.append(
                "generator: behind its pace by p99 \(Self.milliseconds(p99)), max \(Self.milliseconds(max)) "
                    + "(schedule → hand-over, \(scheduleDelay.samples) batches); CPU \(Self.seconds(cpu.sendSeconds)) "
                    + "while sending"
                    + (cpu.microsecondsPerMessage.map { String(format: ", %.1f µs a message", $0) } ?? ""))
        }
        if counts.republished > 0 {
            lines.append(
                "republished \(counts.republished) (\(counts.republishedMalformed) malformed) whose connection "
                    + "dropped before the broker confirmed them")
        }
        if counts.nacked + counts.failed + counts.unroutable > 0 {
            lines.append(
                "nacked \(counts.nacked), unanswered \(counts.failed), unroutable \(counts.unroutable)"
                    + (counts.lastFailure.map { "; last failure: \($0)" } ?? ""))
        }
        if counts.unroutable > 0 {
            lines.append(
                "warning: unroutable messages reached no queue; is miner-index running with its queue bound to '\(exchange)'?"
            )
        }
        guard let verification else { return lines.joined(separator: "\n") }
        if verification.passed {
            lines.append(
                "verify: PASSED, snapshots matched \(Self.seconds(verification.convergedAfterSeconds ?? 0)) after the last confirm"
            )
        } else if let failure = verification.failures.first {
            lines.append("verify: FAILED, \(failure)")
            for other in verification.failures.dropFirst() { lines.append("  also: \(other)") }
        } else {
            lines.append("verify: FAILED, the snapshots did not match within the timeout")
        }
        for kind in verification.kinds {
            let doubt =
                kind.minersInDoubt > 0 ? ", \(kind.minersInDoubt) miners at the expiry boundary or in doubt" : ""
            lines.append(
                "  \(kind.kind.label): \(kind.matched ? "match" : "MISMATCH") on \(kind.exchange) "
                    + "(\(kind.snapshotsReceived) snapshots; \(kind.indexSnapshotsReceived) on \(kind.indexExchange)\(doubt))"
            )
            if let expected = kind.expected, let observed = kind.observed {
                lines.append(
                    "    alive expected \(expected.live)/\(expected.registered), got \(observed.live)/\(observed.registered); "
                        + "power expected \(expected.totalPower) W, got \(observed.totalPower) W; offline/disabled expected "
                        + "\(expected.offlineAndDisabled), got \(observed.offlineAndDisabled); max_temp expected "
                        + "\(expected.maxTemperature), got \(observed.maxTemperature)")
            }
            if let p50 = kind.lag.p50, let p99 = kind.lag.p99 {
                lines.append(
                    "    lag p50 \(Self.milliseconds(p50)), p99 \(Self.milliseconds(p99)) (\(kind.lag.samples) probes)")
            }
            for difference in kind.differences { lines.append("    - \(difference)") }
            if let rebuilt = kind.rebuiltIndex {
                let against = rebuilt.keyframeSequence.map { "keyframe \($0)" } ?? "no keyframe in time"
                lines.append(
                    "    rebuilt index (\(rebuilt.keyframes) keyframes, \(rebuilt.deltas) deltas, \(rebuilt.gaps) gaps, "
                        + "\(rebuilt.splitMessages) split messages, \(rebuilt.keyframeRequests) requests): "
                        + "\(rebuilt.matched ? "equals" : "DIFFERS FROM") \(against)"
                        + (rebuilt.difference.map { "; \($0)" } ?? ""))
            }
        }
        let lag = verification.lag
        if let p50 = lag.p50, let p95 = lag.p95, let p99 = lag.p99, let max = lag.max {
            lines.append(
                "lag (broker confirm → first aggregated snapshot reflecting it, \(lag.samples) probes): "
                    + "p50 \(Self.milliseconds(p50)), p95 \(Self.milliseconds(p95)), p99 \(Self.milliseconds(p99)), max \(Self.milliseconds(max))"
            )
        } else {
            lines.append("lag: no probe reached a snapshot")
        }
        if verification.unreadableSnapshots > 0 {
            lines.append(
                "unreadable snapshots: \(verification.unreadableSnapshots) (\(verification.lastUnreadableSnapshot ?? ""))"
            )
        }
        return lines.joined(separator: "\n")
    }

    static func seconds(_ value: Double) -> String { String(format: "%.2fs", value) }
    static func milliseconds(_ value: Double) -> String { String(format: "%.0f ms", value * 1000) }
}
