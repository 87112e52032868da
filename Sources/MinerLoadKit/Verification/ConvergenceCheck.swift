import Foundation
import MinerIndex

/// Waits, after the last confirm, until the latest aggregated snapshot of every verified kind equals the totals
/// expected from the ledger at that snapshot's `generated_at`, or the timeout passes.
struct ConvergenceCheck: Sendable {
    let watch: SnapshotWatch
    let ledger: MinerLedger
    let kinds: [MinerKind]
    let verification: LoadConfiguration.Verification
    let showsProgress: Bool

    private struct Evaluation {
        var snapshot: AggregatedSnapshot
        var expected: ExpectedTotals
        var comparison: TotalsComparison
    }

    func run(sendEndedAt: ContinuousClock.Instant) async -> VerificationReport {
        let deadline = sendEndedAt + verification.timeout
        var evaluations: [MinerKind: Evaluation] = [:]
        var nextProgress = ContinuousClock.now + .seconds(1)
        var convergedAt: ContinuousClock.Instant?

        while true {
            for kind in kinds {
                guard let latest = watch.latest(kind) else { continue }
                if let previous = evaluations[kind], previous.snapshot == latest { continue }
                let expected = ExpectedTotals.compute(
                    entries: ledger.entries(of: kind), at: latest.generatedAt,
                    offlineAfter: verification.offlineAfter, sweepInterval: verification.sweepInterval)
                evaluations[kind] = Evaluation(
                    snapshot: latest, expected: expected,
                    comparison: TotalsComparison(expected: expected, observed: latest))
            }
            if kinds.allSatisfy({ evaluations[$0]?.comparison.matches == true }) {
                convergedAt = kinds.compactMap { evaluations[$0]?.snapshot.arrivedAt }.max()
                break
            }
            let now = ContinuousClock.now
            if now >= deadline { break }
            if showsProgress, now >= nextProgress {
                nextProgress = now + .seconds(1)
                let states = kinds.map { kind -> String in
                    guard let evaluation = evaluations[kind] else { return "\(kind.label): no snapshot yet" }
                    let count = evaluation.comparison.differences.count
                    return "\(kind.label): " + (count == 0 ? "matches" : "\(count) difference\(count == 1 ? "" : "s")")
                }
                let waited = String(format: "%.1f", (now - sendEndedAt).secondsValue)
                FileHandle.standardError.write(Data("[verify +\(waited)s] \(states.joined(separator: "; "))\n".utf8))
            }
            try? await Task.sleep(for: .milliseconds(25))
        }

        let results = kinds.map { kind -> VerificationReport.KindResult in
            let exchange = verification.aggregatedExchange(kind)
            let indexExchange = verification.indexExchange(kind)
            let evaluation = evaluations[kind]
            let index = watch.counts(on: indexExchange)
            return VerificationReport.KindResult(
                kind: kind, exchange: exchange, matched: evaluation?.comparison.matches ?? false,
                differences: evaluation?.comparison.differences
                    ?? ["no snapshot arrived on \(exchange) — is miner-index running, publishing to these exchanges?"],
                snapshotsReceived: watch.counts(on: exchange).received,
                indexExchange: indexExchange, indexSnapshotsReceived: index.received,
                indexSnapshotBytes: index.lastBytes,
                minersInDoubt: evaluation?.expected.minersInDoubt ?? 0, lag: watch.lag.summary(of: kind),
                expected: evaluation.map { VerificationReport.Totals($0.expected) },
                observed: evaluation.map { VerificationReport.Totals($0.snapshot) },
                probeTimeline: verification.probeTimeline ? watch.lag.timeline(of: kind) : nil)
        }
        let unreadable = watch.unreadable
        return VerificationReport(
            passed: convergedAt != nil,
            convergedAfterSeconds: convergedAt.map { max(0, ($0 - sendEndedAt).secondsValue) },
            kinds: results, lag: watch.lag.summary,
            unreadableSnapshots: unreadable.count, lastUnreadableSnapshot: unreadable.last)
    }
}
