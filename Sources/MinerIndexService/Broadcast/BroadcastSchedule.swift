/// When the aggregated payload of one index goes out, at each tick of its fixed-rate loop (so at most once per
/// interval): when the index changed since the last publish, when the idle interval has passed, or when forced.
/// A plain value on the caller's clock; `ExchangeBroadcaster` carries out what it decides.
struct AggregateSchedule: Sendable {
    let idleInterval: Duration
    private(set) var publishedVersion: UInt64?
    private(set) var publishedAt: ContinuousClock.Instant?

    init(idleInterval: Duration) {
        self.idleInterval = idleInterval
    }

    func isDue(version: UInt64, now: ContinuousClock.Instant, force: Bool) -> Bool {
        force || version != publishedVersion || publishedAt.map { now - $0 >= idleInterval } ?? true
    }

    mutating func published(version: UInt64, at instant: ContinuousClock.Instant) {
        publishedVersion = version
        publishedAt = instant
    }
}

/// When the keyframes and deltas of one index go out, at each tick of its loop: a keyframe when the chain has to
/// start (or start again), every `keyframeInterval`, when a subscriber asked, or when forced; a delta when the
/// index changed or the idle interval has passed; nothing while ingest is behind the queue, beyond one message per
/// `fullIndexBacklogInterval`. A plain value on the caller's clock; `IndexStreamBroadcaster` carries out what it
/// decides.
struct StreamSchedule: Sendable {
    enum Decision: Equatable, Sendable {
        /// Publish nothing this tick.
        case wait
        /// A delta, if the index version moved since the chain's last message (the caller knows the versions).
        case deltaIfChanged
        /// A delta to bring the chain up to date, then a keyframe if `keyframe`; `idle` publishes the delta even
        /// when nothing changed.
        case publish(keyframe: Bool, idle: Bool)
    }

    let keyframeInterval: Duration
    let idleInterval: Duration
    let fullIndexBacklogInterval: Duration
    private let createdAt: ContinuousClock.Instant
    private(set) var lastKeyframeAt: ContinuousClock.Instant?
    private(set) var lastPublishedAt: ContinuousClock.Instant?
    /// Requests counted up to the last keyframe that went out: a later count asks for another.
    private(set) var answeredRequests: UInt64 = 0

    init(
        keyframeInterval: Duration, idleInterval: Duration, fullIndexBacklogInterval: Duration,
        createdAt: ContinuousClock.Instant
    ) {
        self.keyframeInterval = keyframeInterval
        self.idleInterval = idleInterval
        self.fullIndexBacklogInterval = fullIndexBacklogInterval
        self.createdAt = createdAt
    }

    /// - Parameters:
    ///   - requestCount: keyframe requests counted so far for this kind.
    ///   - hasChain: whether the published messages form a chain a delta can continue.
    ///   - ingestBehind: whether ingest was behind the queue lately; asked only when it matters.
    func decide(
        now: ContinuousClock.Instant, force: Bool, requestCount: UInt64, hasChain: Bool,
        ingestBehind: @autoclosure () -> Bool
    ) -> Decision {
        // While ingest is behind the queue, what goes out now is stale by the time it is read: catching up makes
        // the next one current. That holds for the first keyframe of a term too, which would otherwise show a
        // backlog half applied after a redeploy.
        if !force, now - (lastPublishedAt ?? createdAt) < fullIndexBacklogInterval, ingestBehind() { return .wait }
        let keyframe =
            force || !hasChain || requestCount > answeredRequests
            || lastKeyframeAt.map { now - $0 >= keyframeInterval } ?? true
        let idle = lastPublishedAt.map { now - $0 >= idleInterval } ?? true
        return keyframe || idle ? .publish(keyframe: keyframe, idle: idle) : .deltaIfChanged
    }

    mutating func deltaPublished(at instant: ContinuousClock.Instant) {
        lastPublishedAt = instant
    }

    /// `answering`: the request count the keyframe answers (those counted before it was published).
    mutating func keyframePublished(at instant: ContinuousClock.Instant, answering requestCount: UInt64) {
        answeredRequests = requestCount
        lastKeyframeAt = instant
        lastPublishedAt = instant
    }
}
