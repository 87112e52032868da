import Logging

/// Lets through at most `burst` warnings per `window`, then one line saying how many were suppressed, so a flood
/// of bad messages cannot fill the disk. Owned by one task.
struct RateLimitedLog {
    let logger: Logger
    let burst: Int
    let window: Duration
    private var windowStart: ContinuousClock.Instant = .now
    private var emittedInWindow = 0
    private var suppressed = 0

    init(logger: Logger, burst: Int = 20, window: Duration = .seconds(10)) {
        self.logger = logger
        self.burst = burst
        self.window = window
    }

    mutating func warning(_ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata) {
        let now = ContinuousClock.now
        if now - windowStart >= window {
            if suppressed > 0 {
                logger.warning("suppressed similar warnings", metadata: ["suppressed": "\(suppressed)"])
            }
            windowStart = now
            emittedInWindow = 0
            suppressed = 0
        }
        guard emittedInWindow < burst else {
            suppressed += 1
            return
        }
        emittedInWindow += 1
        logger.warning(message(), metadata: metadata())
    }
}
