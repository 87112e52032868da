import AMQP
import Foundation
import Logging
import MinerIndex

/// How the full index of one kind goes out: a keyframe (the whole index, on the full-index exchange) every
/// `keyframeInterval` and when a subscriber asks, and in between a delta (what changed, on the delta exchange)
/// at each broadcast interval when something changed, or after `idleInterval` when nothing did.
struct StreamPacing: Sendable {
    let keyframeInterval: Duration
    let maxMessageBytes: Int
}

/// Publishes the keyframes and deltas of one index (see the README's "Keyframes and deltas").
///
/// Keyframes and deltas share one `sequence` counter (the full-index exchange's, which survives restarts) and go
/// out on one connection, one after the other, so a subscriber that binds one queue to both exchanges receives
/// them in sequence order. Each message names the message it follows (`previous_sequence`); a keyframe goes out
/// right after the delta that brings the chain to the keyframe's version, so a subscriber that applied every
/// delta holds exactly the keyframe's state when it arrives.
///
/// A delta costs a pass over the index inside the actor (which entries have a revision above the last published
/// version, plus the removal records) and the encoding of what changed, on a thread of its own; a keyframe costs
/// what the full index always did, on the low-priority encoding thread, but once per keyframe interval.
actor IndexStreamBroadcaster<Source: SnapshotSource> {
    /// Where the published messages left the chain: the keyframe it started from, the last message in it and
    /// the index version that message showed.
    private struct Chain {
        var baseSequence: UInt64
        var lastSequence: UInt64
        var version: UInt64
        /// The last delta, or the base keyframe before any: the message whose state the chain's keyframes since
        /// have repeated.
        var lastDeltaSequence: UInt64
    }

    let source: Source
    let keyframeExchange: String
    let deltaExchange: String
    let publisher: AMQPPublisher
    let sequences: SequenceNumbers
    let authority: PublishingAuthority
    let requests: KeyframeRequests
    let metrics: ServiceMetrics
    let pacing: BroadcastPacing
    let stream: StreamPacing
    let chainID: String
    let logger: Logger
    private let encoder: SharedPayloadEncoder<Source.Miner, Source.Log>
    private var chain: Chain?
    private var schedule: StreamSchedule

    init(
        source: Source, keyframeExchange: String, deltaExchange: String,
        publisher: AMQPPublisher, sequences: SequenceNumbers, authority: PublishingAuthority,
        requests: KeyframeRequests, metrics: ServiceMetrics, pacing: BroadcastPacing, stream: StreamPacing,
        chainID: String, logger: Logger
    ) {
        self.source = source
        self.keyframeExchange = keyframeExchange
        self.deltaExchange = deltaExchange
        self.publisher = publisher
        self.sequences = sequences
        self.authority = authority
        self.requests = requests
        self.metrics = metrics
        self.pacing = pacing
        self.stream = stream
        self.chainID = chainID
        self.logger = logger
        encoder = SharedPayloadEncoder(MinerPayloadEncoder(vocabulary: Source.vocabulary, cachesRecords: true))
        schedule = StreamSchedule(
            keyframeInterval: stream.keyframeInterval, idleInterval: pacing.idleInterval,
            fullIndexBacklogInterval: pacing.fullIndexBacklogInterval, createdAt: .now)
    }

    /// Publishes what is due; `force` publishes a keyframe regardless (the final one at shutdown), after the
    /// delta that leads to it.
    func tick(force: Bool) async {
        guard authority.mayPublish else { return }
        let requestCount = requests.count(Source.kind)
        let (keyframeDue, idle): (Bool, Bool)
        switch schedule.decide(
            now: .now, force: force, requestCount: requestCount, hasChain: chain != nil,
            ingestBehind: pacing.backlog.wasBehind(within: pacing.interval * 2))
        {
        case .wait:
            return
        case .deltaIfChanged:
            guard await source.version != chain?.version else { return }
            (keyframeDue, idle) = (false, false)
        case .publish(let keyframe, let isIdle):
            (keyframeDue, idle) = (keyframe, isIdle)
        }

        let generatedAt = Timestamp(Date())
        let publication = await source.publication(since: chain?.version, includeSnapshot: keyframeDue)
        var continuesChain = false
        if let delta = publication.delta, let current = chain {
            if delta.version == current.version && (keyframeDue || !idle) {
                continuesChain = true
            } else {
                continuesChain = await publishDelta(delta, after: current, generatedAt: generatedAt)
            }
        }
        guard let snapshot = publication.snapshot else { return }
        if publication.delta == nil { chain = nil }
        await publishKeyframe(
            snapshot, previous: continuesChain ? chain?.lastSequence : nil, generatedAt: generatedAt,
            answering: requestCount)
    }

    /// True if the delta went out and the chain now ends with it.
    private func publishDelta(
        _ delta: IndexDelta<Source.Miner, Source.Log>, after current: Chain, generatedAt: Timestamp
    ) async -> Bool {
        let started = ContinuousClock.now
        let stamp = IndexStreamStamp(
            sequence: sequences.next(keyframeExchange), previousSequence: current.lastSequence,
            baseSequence: current.baseSequence, previousDeltaSequence: current.lastDeltaSequence,
            leaderEpoch: authority.epoch, chain: chainID, generatedAt: generatedAt)
        let maxBytes = stream.maxMessageBytes
        let parts = await DeltaEncodingQueue.run { [encoder] in
            encoder.encoder.withLock { $0.deltaParts(delta, stamp: stamp, maxBytes: maxBytes) }
        }
        guard await publish(parts, to: deltaExchange, stamp: stamp) else {
            // The encoder now counts this delta's logs as held by subscribers, and the next delta would send only
            // what changed after them: the chain can only start again, from a keyframe at the next tick.
            chain = nil
            return false
        }
        chain = Chain(
            baseSequence: current.baseSequence, lastSequence: stamp.sequence, version: delta.version,
            lastDeltaSequence: stamp.sequence)
        schedule.deltaPublished(at: started)
        return true
    }

    private func publishKeyframe(
        _ snapshot: MinerIndexSnapshot<Source.Miner, Source.Log>, previous: UInt64?, generatedAt: Timestamp,
        answering requestCount: UInt64
    ) async {
        let started = ContinuousClock.now
        // One that continues the chain repeats the state of its last delta, which deltas after it still name.
        let repeatedDelta = previous == nil ? nil : chain?.lastDeltaSequence
        let stamp = IndexStreamStamp(
            sequence: sequences.next(keyframeExchange), previousSequence: previous, baseSequence: nil,
            previousDeltaSequence: repeatedDelta, leaderEpoch: authority.epoch, chain: chainID,
            generatedAt: generatedAt)
        let maxBytes = stream.maxMessageBytes
        let parts = await SnapshotEncodingQueue.run { [encoder] in
            encoder.encoder.withLock { $0.keyframeParts(snapshot, stamp: stamp, maxBytes: maxBytes) }
        }
        metrics.snapshotBuildSeconds.recordNanoseconds(Int64((ContinuousClock.now - started).secondsValue * 1e9))
        // Requests that arrived while the keyframe was built are answered by it too: it is published after them.
        let answered = max(requestCount, requests.count(Source.kind))
        guard await publish(parts, to: keyframeExchange, stamp: stamp) else { return }
        chain = Chain(
            baseSequence: stamp.sequence, lastSequence: stamp.sequence, version: snapshot.version,
            lastDeltaSequence: repeatedDelta ?? stamp.sequence)
        schedule.keyframePublished(at: started, answering: answered)
    }

    /// Publishes the parts of one message in order; true if the broker confirmed them all.
    private func publish(_ parts: [[UInt8]], to exchange: String, stamp: IndexStreamStamp) async -> Bool {
        if let largest = parts.map(\.count).max(), largest > stream.maxMessageBytes {
            logger.warning(
                "a message part exceeds --max-message-bytes: one record and the aggregated object do not fit",
                metadata: ["exchange": "\(exchange)", "bytes": "\(largest)", "limit": "\(stream.maxMessageBytes)"])
        }
        var headers: FieldTable = [
            "sequence": .int(Int64(stamp.sequence)), "publisher": .string(PublishingAuthority.instance),
        ]
        if let epoch = stamp.leaderEpoch { headers["leader_epoch"] = .int(epoch) }
        let properties = MessageProperties(
            contentType: "application/json", timestamp: stamp.generatedAt.date, type: exchange,
            deliveryMode: .transient, headers: headers)
        let messages = parts.map {
            OutgoingMessage(exchange: exchange, routingKey: "", body: $0, properties: properties)
        }
        // Building took a while: the lease is checked again right before the message leaves.
        guard authority.mayPublish else { return false }
        for result in await publisher.publish(messages) {
            if case .failure(let error) = result {
                logger.warning(
                    "snapshot not published; retrying next tick",
                    metadata: ["exchange": "\(exchange)", "sequence": "\(stamp.sequence)", "error": "\(error)"])
                return false
            }
            metrics.snapshotPublished(exchange: exchange)
        }
        return true
    }
}
