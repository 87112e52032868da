/// Calls `tick` every `interval` on a fixed schedule until the task is cancelled. A tick that overruns skips the
/// ticks it missed instead of running them back to back, so work never bunches up after a stall.
func runFixedRate(
    every interval: Duration, isolation: isolated (any Actor)? = #isolation, _ tick: () async -> Void
) async {
    let clock = ContinuousClock()
    var next = clock.now + interval
    while !Task.isCancelled {
        do {
            try await clock.sleep(until: next)
        } catch {
            return
        }
        await tick()
        next = next + interval
        let now = clock.now
        if next < now {
            let missed = ((now - next) / interval).rounded(.down)
            next = next + interval * (missed + 1)
        }
    }
}
