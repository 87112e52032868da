/// The end of `--verify` for the full indexes: each kind's reference subscriber asks for a fresh keyframe and
/// compares it with the index it rebuilt from keyframes and deltas; a difference fails the verification.
struct RebuiltIndexCheck: Sendable {
    let subscribers: [(MinerKind, IndexStreamSubscriber)]
    let timeout: Duration

    func run(on report: inout VerificationReport) async {
        for (kind, subscriber) in subscribers {
            let check = await subscriber.checkAgainstFreshKeyframe(timeout: timeout)
            let assembler = subscriber.assembler
            let result = VerificationReport.RebuiltIndex(
                matched: check?.matched ?? false, keyframeSequence: check?.sequence,
                difference: check == nil ? "no keyframe following the last applied message arrived" : check?.difference,
                keyframes: assembler.counters.keyframes, deltas: assembler.counters.deltas,
                gaps: assembler.counters.gaps, splitMessages: assembler.counters.splitMessages,
                keyframeRequests: subscriber.requestsSent)
            guard let position = report.kinds.firstIndex(where: { $0.kind == kind }) else { continue }
            report.kinds[position].rebuiltIndex = result
            if !result.matched { report.passed = false }
        }
    }
}
