import MinerIndex

/// Which miners go silent, and when. A churning miner alternates between `silence` without reports and
/// `silence` of normal reporting, from a phase of its own so the fleet does not fall silent in lockstep.
struct ChurnPlan: Sendable {
    let configuration: LoadConfiguration.Churn
    let seed: UInt64

    func isSilent(kind: MinerKind, index: Int, elapsedSeconds: Double) -> Bool {
        var random = SeededGenerator(seed: seed ^ 0xC4_0A9E, stream: UInt64(index) &* 2 &+ (kind == .asic ? 0 : 1))
        guard random.chance(configuration.fraction) else { return false }
        let silence = configuration.silence.secondsValue
        let cycle = 2 * silence
        let phase = random.unit() * cycle
        return (elapsedSeconds + phase).truncatingRemainder(dividingBy: cycle) < silence
    }

    func churns(kind: MinerKind, index: Int) -> Bool {
        var random = SeededGenerator(seed: seed ^ 0xC4_0A9E, stream: UInt64(index) &* 2 &+ (kind == .asic ? 0 : 1))
        return random.chance(configuration.fraction)
    }
}
