import Foundation
import MinerIndex

/// Issue 14, item 1: the full index as keyframes plus deltas against the paced full index it replaced, on one
/// index actor fed in simulated time (each simulated second applies one second of logs), so that the CPU of
/// each way of broadcasting is measured alone, in the same process and run.
///
/// - Paced full index (before): a full payload (`indexPayload`, with the per-record byte caches the broadcaster
///   keeps) built, then a wait of four times the build, as the broadcaster did (run C in PERFORMANCE.md). One
///   every `5 × build` seconds, at least every interval.
/// - Keyframes and deltas (now): a delta every interval (the actor's pass over the changed entries, then the
///   encoding), and a keyframe every `keyframeInterval`.
///
/// CPU is this process's CPU time around each build (broker and publishing not included: both ways hand their
/// bytes to the same publisher). Bytes are the payload bytes; input bytes are the log bodies applied.
enum StreamBenchmark {
    static func run(miners: Int, logsPerSecond: Int, seconds: Int, keyframeInterval: Int) async {
        let index = AsicMinerOperationalIndex()
        let start = ISO8601Timestamp.parse("2026-12-03T12:00:00Z") ?? Timestamp(microsecondsSinceEpoch: 0)
        for id in 0..<miners { await index.upsert(SampleMessages.asicMiner(id: id)) }
        let decoder = MinerMessageDecoder()
        var nextMiner = 0
        var reports = 0
        var inputBytes = 0

        /// One simulated second of reports: `logsPerSecond` miners in turn, each with a later `inserted_at` and the
        /// figures a miner changes from one report to the next.
        func applySecond(_ second: Int) async {
            let now = start.adding(seconds: Double(second))
            var batch: [TimedCommand<AsicMinerCommand>] = []
            batch.reserveCapacity(256)
            for offset in 0..<logsPerSecond {
                let id = nextMiner
                nextMiner = (nextMiner + 1) % miners
                // The report number changes what a real miner changes between reports (see `asicLog`).
                let body = SampleMessages.asicLog(
                    id: id,
                    insertedAt: ISO8601Timestamp.format(now.adding(seconds: Double(offset) / Double(logsPerSecond))),
                    report: reports / miners)
                reports += 1
                inputBytes += body.count
                guard case let .asic(command)? = try? decoder.decode(routingKey: "asic_miner.log", body: body) else {
                    continue
                }
                batch.append(TimedCommand(command, receivedAt: now))
                if batch.count == 256 {
                    consume(await index.apply(batch))
                    batch.removeAll(keepingCapacity: true)
                }
            }
            consume(await index.apply(batch))
        }

        // Every miner reports once before anything is measured, so both ways start from a full fleet.
        for second in 0..<(miners + logsPerSecond - 1) / logsPerSecond { await applySecond(second) }
        var second = (miners + logsPerSecond - 1) / logsPerSecond
        inputBytes = 0

        // Before: the paced full index, built whenever its pacing allows, for `seconds` simulated seconds.
        var paced = AsicMinerPayloadEncoder()
        var fullBuilds: [(cpu: Double, bytes: Int)] = []
        var nextFullAt = 0.0
        let firstMeasured = second
        for _ in 0..<seconds {
            await applySecond(second)
            let elapsed = Double(second - firstMeasured)
            if elapsed >= nextFullAt {
                let started = Measurement.now()
                let snapshot = await index.snapshot()
                let bytes = paced.indexPayload(
                    snapshot, aggregate: snapshot.aggregate(), sequence: snapshot.version,
                    generatedAt: start.adding(seconds: Double(second)))
                let cpu = Measurement.now() - started
                fullBuilds.append((cpu, bytes.count))
                nextFullAt = elapsed + max(1, 5 * cpu)
            }
            second += 1
        }
        let pacedInput = inputBytes
        inputBytes = 0

        // Now: a delta every second and a keyframe every `keyframeInterval`, for the same number of seconds.
        var stream = AsicMinerPayloadEncoder()
        var deltas: [(cpu: Double, bytes: Int)] = []
        /// The actor's pass and the encoding, apart, for the deltas of ticks without a keyframe (a keyframe tick's
        /// pass also takes the snapshot).
        var deltaSplits: [(pass: Double, encoding: Double)] = []
        var keyframes: [(cpu: Double, bytes: Int)] = []
        var version: UInt64?
        var sequence: UInt64 = 0
        for step in 0..<seconds {
            await applySecond(second)
            let keyframeDue = version == nil || step % keyframeInterval == 0
            let started = Measurement.now()
            let publication = await index.publication(since: version, includeSnapshot: keyframeDue)
            let passed = Measurement.now()
            let generatedAt = start.adding(seconds: Double(second))
            var deltaBytes = 0
            if let delta = publication.delta {
                sequence += 1
                let stamp = IndexStreamStamp(
                    sequence: sequence, previousSequence: sequence - 1, baseSequence: 1, leaderEpoch: 1, chain: "bench",
                    generatedAt: generatedAt)
                deltaBytes = stream.deltaParts(delta, stamp: stamp, maxBytes: 16 << 20).reduce(0) { $0 + $1.count }
            }
            let deltaCPU = Measurement.now() - started
            if publication.delta != nil {
                deltas.append((deltaCPU, deltaBytes))
                if !keyframeDue { deltaSplits.append((passed - started, deltaCPU - (passed - started))) }
            }
            if let snapshot = publication.snapshot {
                let keyframeStarted = Measurement.now()
                sequence += 1
                let stamp = IndexStreamStamp(
                    sequence: sequence, previousSequence: sequence - 1, baseSequence: nil, leaderEpoch: 1,
                    chain: "bench", generatedAt: generatedAt)
                let bytes = stream.keyframeParts(snapshot, stamp: stamp, maxBytes: 16 << 20).reduce(0) { $0 + $1.count }
                keyframes.append((Measurement.now() - keyframeStarted, bytes))
            }
            version = publication.version
            second += 1
        }
        let streamInput = inputBytes

        let pacedCPU = fullBuilds.reduce(0) { $0 + $1.cpu } / Double(seconds)
        let pacedBytes = Double(fullBuilds.reduce(0) { $0 + $1.bytes }) / Double(seconds)
        let medianBuild = Measurement.median(fullBuilds.map(\.cpu))
        let streamCPU = (deltas.reduce(0) { $0 + $1.cpu } + keyframes.reduce(0) { $0 + $1.cpu }) / Double(seconds)
        let streamBytes =
            Double(deltas.reduce(0) { $0 + $1.bytes } + keyframes.reduce(0) { $0 + $1.bytes })
            / Double(seconds)
        let medianDelta = Measurement.median(deltas.map(\.cpu))
        let inputRate = Double(pacedInput + streamInput) / Double(2 * seconds)

        print(
            """
            keyframes and deltas against the paced full index: \(miners) ASIC miners, \(logsPerSecond) logs/s, \
            \(seconds) simulated seconds each, keyframe every \(keyframeInterval) s

            | figure | paced full index | keyframes + deltas | ratio (new / old) |
            |---|---:|---:|---:|
            | messages built | \(fullBuilds.count) full | \(deltas.count) deltas + \(keyframes.count) keyframes | |
            | CPU per build, median | \(ms(medianBuild)) | \(ms(medianDelta)) (delta) / \(ms(Measurement.median(keyframes.map(\.cpu)))) (keyframe) | |
            | of a delta: the actor's pass / the encoding, median | | \(ms(Measurement.median(deltaSplits.map(\.pass)))) / \(ms(Measurement.median(deltaSplits.map(\.encoding)))) | |
            | broadcast CPU, share of one core | \(percent(pacedCPU)) | \(percent(streamCPU)) | \(format(streamCPU / pacedCPU, digits: 2))x |
            | full-index bytes per second | \(megabytes(pacedBytes)) | \(megabytes(streamBytes)) | \(format(streamBytes / pacedBytes, digits: 2))x |
            | input bytes per second (log bodies) | \(megabytes(inputRate)) | \(megabytes(inputRate)) | |
            | full-index bytes / input bytes | \(format(pacedBytes / inputRate, digits: 2)) | \(format(streamBytes / inputRate, digits: 2)) | |
            | staleness of a subscriber's full state, worst (interval or pacing + build) | \(secondsText(max(1, 5 * medianBuild) + medianBuild)) | \(secondsText(1 + medianDelta)) | \(format((1 + medianDelta) / (max(1, 5 * medianBuild) + medianBuild), digits: 2))x |
            """)
    }

    private static func ms(_ seconds: Double) -> String { "\(format(seconds * 1000, digits: 1)) ms" }
    private static func secondsText(_ value: Double) -> String { "\(format(value, digits: 2)) s" }
    private static func percent(_ share: Double) -> String { "\(format(share * 100, digits: 1)) %" }
    private static func megabytes(_ bytes: Double) -> String { "\(format(bytes / 1e6, digits: 2)) MB/s" }
}
