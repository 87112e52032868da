import MinerIndex

/// The end of `--verify` for the full indexes: each kind's reference subscriber asks for a fresh keyframe and
/// compares it with the index it rebuilt from keyframes and deltas; a difference, then or at any keyframe the
/// subscriber received during the run, fails the verification.
struct RebuiltIndexCheck: Sendable {
    let subscribers: [(MinerKind, IndexStreamSubscriber)]
    let timeout: Duration

    func run(on report: inout VerificationReport) async {
        for (kind, subscriber) in subscribers {
            let check = await subscriber.checkAgainstFreshKeyframe(timeout: timeout)
            let assembler = subscriber.assembler
            // Every keyframe that followed the chain during the run was compared too: one that differed fails.
            let earlier = assembler.checks.first { !$0.matched }
            let difference =
                check == nil
                ? "no keyframe following the last applied message arrived"
                : earlier.map { "keyframe \($0.sequence): \($0.difference ?? "differs")" } ?? check?.difference
            let result = VerificationReport.RebuiltIndex(
                matched: check?.matched == true && earlier == nil, keyframeSequence: check?.sequence,
                difference: difference,
                keyframes: assembler.counters.keyframes, deltas: assembler.counters.deltas,
                gaps: assembler.counters.gaps, splitMessages: assembler.counters.splitMessages,
                keyframeRequests: subscriber.requestsSent)
            guard let position = report.kinds.firstIndex(where: { $0.kind == kind }) else { continue }
            report.kinds[position].rebuiltIndex = result
            // The subscriber read every keyframe: the counts of the full-index exchange come from it.
            report.kinds[position].indexSnapshotsReceived = assembler.counters.keyframes
            report.kinds[position].indexSnapshotBytes = assembler.counters.largestMessagePart
            if !result.matched { report.passed = false }
        }
    }
}
