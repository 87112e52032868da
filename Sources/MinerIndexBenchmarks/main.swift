import Foundation
import MinerIndex

// Domain benchmarks: decode+validate, apply, aggregate, snapshot and encode, memory. Run in release:
//   swift run -c release --scratch-path .build-domain miner-index-benchmarks [decode]
// Each timing is the median of `repeats` runs; ratios compare medians measured in this same process.

let repeats = 5
var report = Report()
let receivedAt = ISO8601Timestamp.parse("2023-11-14T22:13:21Z") ?? Timestamp(microsecondsSinceEpoch: 0)

func asicDeliveries(count: Int, firstId: Int = 0) -> [TimedCommand<AsicMinerCommand>] {
    let decoder = MinerMessageDecoder()
    return (0..<count).compactMap { offset in
        guard
            case let .asic(command) = try? decoder.decode(
                routingKey: "asic_miner.log",
                body: SampleMessages.asicLog(id: firstId + offset))
        else { return nil }
        return TimedCommand(command, receivedAt: receivedAt)
    }
}

func filledAsicIndex(miners: Int) async -> AsicMinerOperationalIndex {
    let index = AsicMinerOperationalIndex()
    for id in 0..<miners { await index.upsert(SampleMessages.asicMiner(id: id)) }
    let deliveries = asicDeliveries(count: miners)
    for start in stride(from: 0, to: deliveries.count, by: 256) {
        _ = await index.apply(Array(deliveries[start..<min(start + 256, deliveries.count)]))
    }
    return index
}

// Every timing below assumes the sample bodies are valid; a silent decoding failure would flatter the figures.
do {
    let decoder = MinerMessageDecoder()
    let checkedKinds: [(String, [UInt8])] = [
        ("asic_miner.log", SampleMessages.asicLog(id: 7)),
        ("cpu_gpu_miner.log", SampleMessages.cpuGpuLog(id: 7)),
    ]
    for (routingKey, body) in checkedKinds {
        do {
            _ = try decoder.decode(routingKey: routingKey, body: body)
        } catch {
            print("sample \(routingKey) body does not decode: \(error)")
            exit(1)
        }
    }
}

// `miner-index-benchmarks decode` runs only the decoding comparison, the quickest check after a decoder change.
if CommandLine.arguments.dropFirst().first == "decode" {
    compareAllDecoding()
    exit(0)
}

// `miner-index-benchmarks fleet-health [rounds] [--print-payload]`: the index's CPU per log at 100k miners and
// 20k logs/s (see FleetHealthBenchmark); the same file builds before and after the fleet-health figures.
if CommandLine.arguments.dropFirst().first == "fleet-health" {
    let rounds = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 6
    await FleetHealthBenchmark.run(
        rounds: max(1, rounds), printsPayload: CommandLine.arguments.contains("--print-payload"))
    exit(0)
}

// `miner-index-benchmarks stream [miners] [seconds]`: keyframes and deltas against the paced full index they
// replaced, at 20k logs/s (issue 14; see StreamBenchmark).
if CommandLine.arguments.dropFirst().first == "stream" {
    let numbers = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    await StreamBenchmark.run(
        miners: max(1_000, numbers.first ?? 100_000), logsPerSecond: 20_000,
        seconds: max(10, numbers.dropFirst().first ?? 60), keyframeInterval: 30)
    exit(0)
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "profile" {
    await ProfilingLoops.run(CommandLine.arguments[2], index: await filledAsicIndex(miners: 10_000))
    exit(0)
}

// MARK: Memory first, while the heap is fresh.

do {
    Measurement.releaseFreedMemory()
    let deliveries = asicDeliveries(count: 100_000)
    let before = Measurement.residentBytes()
    let index = AsicMinerOperationalIndex()
    for id in 0..<100_000 { await index.upsert(SampleMessages.asicMiner(id: id)) }
    for start in stride(from: 0, to: deliveries.count, by: 256) {
        _ = await index.apply(Array(deliveries[start..<min(start + 256, deliveries.count)]))
    }
    let after = Measurement.residentBytes()
    report.add(
        "memory per ASIC miner (registry + latest log + 1 history entry), 100k miners",
        "\(format(Double(after - before) / 100_000, digits: 0)) B", "RSS delta \(megabytes(after - before))")
    let snapshot = await index.snapshot()
    var encoder = AsicMinerPayloadEncoder()
    let beforeCache = Measurement.residentBytes()
    let payload = encoder.indexPayload(snapshot, aggregate: snapshot.aggregate(), sequence: 1, generatedAt: receivedAt)
    let afterCache = Measurement.residentBytes()
    report.add(
        "memory per ASIC miner of the broadcaster's encoded-record cache, 100k miners",
        "\(format(Double(afterCache - beforeCache - payload.count) / 100_000, digits: 0)) B",
        "payload itself \(megabytes(payload.count))")
    consume(payload.count)
}
Measurement.releaseFreedMemory()

do {
    let logs = (0..<4).compactMap { try? AsicMinerLog.decode(json: SampleMessages.asicLog(id: $0)) }
    let before = Measurement.residentBytes()
    var history = AsicMinerHistoricalIndex(capacity: 60, maxAgeSeconds: 3600)
    for second in 0..<60 {
        let observedAt = receivedAt.adding(seconds: Double(second * 10))
        for id in 0..<100_000 {
            var log = logs[id % logs.count]
            log.asicMinerId = Int64(id)
            history.put(log, observedAt: observedAt)
        }
    }
    let after = Measurement.residentBytes()
    report.add(
        "history memory, 100k miners x 60 entries", megabytes(after - before),
        "\(format(Double(after - before) / 6_000_000, digits: 1)) B per entry; entry stride \(MemoryLayout<AsicMinerHistoryEntry>.stride) B"
    )
    consume(history.minerCount)
}
Measurement.releaseFreedMemory()

// MARK: Decode and validate vs JSONDecoder.

/// Runs ours and JSONDecoder in alternation, one pair per repeat, so that a slow spell on the shared machine
/// lands on both sides of a ratio; reports the median of each and the median and range of the per-pair ratios.
@MainActor
func compareDecoding(
    kind: String, keyOrder: String, routingKey: String, bodies: [[UInt8]],
    foundation: (Data) throws -> Void
) {
    let decoder = MinerMessageDecoder()
    guard bodies.allSatisfy({ (try? decoder.decode(routingKey: routingKey, body: $0)) != nil }) else {
        print("a \(kind) sample body with \(keyOrder) does not decode")
        exit(1)
    }
    let datas = bodies.map { Data($0) }
    let iterations = 20_000, baselineIterations = 4_000, pairs = 9
    var ours: [Double] = [], baseline: [Double] = []
    for _ in 0..<pairs {
        ours += Measurement.seconds(repeats: 1) {
            for index in 0..<iterations {
                if let command = try? decoder.decode(routingKey: routingKey, body: bodies[index % bodies.count]) {
                    consume(command)
                }
            }
        }.map { $0 / Double(iterations) }
        baseline += Measurement.seconds(repeats: 1) {
            for index in 0..<baselineIterations { try? foundation(datas[index % datas.count]) }
        }.map { $0 / Double(baselineIterations) }
    }
    let ratios = zip(baseline, ours).map { $0 / $1 }.sorted()
    let size = bodies.reduce(0) { $0 + $1.count } / bodies.count
    report.add(
        "decode+validate \(kind) log (\(size) B, \(keyOrder)), miner-index",
        microseconds(Measurement.median(ours)))
    report.add(
        "decode \(kind) log (\(size) B, \(keyOrder)), Foundation JSONDecoder (no validation)",
        microseconds(Measurement.median(baseline)),
        "miner-index is **\(format(Measurement.median(ratios), digits: 1))x** faster (pairs: "
            + "\(format(ratios.first ?? .nan, digits: 1))–\(format(ratios.last ?? .nan, digits: 1))x)")
}

@MainActor
func compareAllDecoding() {
    let jsonDecoder = JSONDecoder()
    let asicBodies = (0..<256).map { SampleMessages.asicLog(id: $0) }
    let cpuGpuBodies = (0..<256).map { SampleMessages.cpuGpuLog(id: $0) }
    var generator = SeededGenerator(seed: 2026)
    let decodeAsic: (Data) throws -> Void = { consume(try jsonDecoder.decode(CodableAsicMinerLog.self, from: $0)) }
    let decodeCpuGpu: (Data) throws -> Void = {
        consume(try jsonDecoder.decode(CodableCpuGpuMinerLog.self, from: $0))
    }
    compareDecoding(
        kind: "ASIC", keyOrder: "fixed key order", routingKey: "asic_miner.log", bodies: asicBodies,
        foundation: decodeAsic)
    compareDecoding(
        kind: "CPU/GPU", keyOrder: "fixed key order", routingKey: "cpu_gpu_miner.log",
        bodies: cpuGpuBodies, foundation: decodeCpuGpu)
    compareDecoding(
        kind: "ASIC", keyOrder: "keys shuffled per body", routingKey: "asic_miner.log",
        bodies: asicBodies.map { SampleMessages.withShuffledKeys($0, using: &generator) },
        foundation: decodeAsic)
    compareDecoding(
        kind: "CPU/GPU", keyOrder: "keys shuffled per body", routingKey: "cpu_gpu_miner.log",
        bodies: cpuGpuBodies.map { SampleMessages.withShuffledKeys($0, using: &generator) },
        foundation: decodeCpuGpu)
}

compareAllDecoding()

// MARK: Applying batches.

do {
    let index = await filledAsicIndex(miners: 10_000)
    let fresh = ISO8601Timestamp.parse("2023-11-14T22:13:20.500Z") ?? receivedAt
    let decoded = asicDeliveries(count: 100_000)
    let rounds = (0..<repeats).map { round in
        decoded.map { delivery -> TimedCommand<AsicMinerCommand> in
            guard case var .log(log) = delivery.command else { return delivery }
            log.asicMinerId = log.asicMinerId % 10_000
            log.insertedAt = fresh.adding(seconds: Double(round) * 0.01 + Double(log.asicMinerId) * 1e-6)
            return TimedCommand(.log(log), receivedAt: receivedAt.adding(seconds: 1))
        }
    }
    var runs: [Double] = []
    for round in rounds {
        let start = Measurement.now()
        for first in stride(from: 0, to: round.count, by: 256) {
            consume(await index.apply(Array(round[first..<min(first + 256, round.count)])))
        }
        runs.append(Measurement.now() - start)
    }
    let perPut = Measurement.median(runs) / 100_000
    report.add(
        "apply ASIC log (batches of 256, 10k miners, incl. history)", microseconds(perPut),
        "\(format(1 / perPut / 1000, digits: 0))k logs/s on one core")

    let bodies = (0..<100_000).map {
        SampleMessages.asicLog(id: $0 % 10_000, insertedAt: "2023-11-14T22:13:21.\(String(format: "%03d", $0 % 1000))Z")
    }
    let decoder = MinerMessageDecoder()
    let later = receivedAt.adding(seconds: 2)
    let endToEnd =
        Measurement.median(
            await Measurement.seconds(repeats: repeats) {
                var batch: [TimedCommand<AsicMinerCommand>] = []
                batch.reserveCapacity(256)
                for body in bodies {
                    if case let .asic(command)? = try? decoder.decode(routingKey: "asic_miner.log", body: body) {
                        batch.append(TimedCommand(command, receivedAt: later))
                    }
                    if batch.count == 256 {
                        consume(await index.apply(batch))
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                consume(await index.apply(batch))
            }) / 100_000
    report.add(
        "decode+validate+apply ASIC log end to end", microseconds(endToEnd),
        "\(format(1 / endToEnd / 1000, digits: 0))k msgs/s on one core")

    let expiryIndex = await filledAsicIndex(miners: 100_000)
    let sweep = Measurement.median(
        await Measurement.seconds(repeats: repeats) {
            consume(await expiryIndex.expire(now: receivedAt.adding(seconds: 30)))
        })
    report.add("expiry sweep with nothing due, 100k live miners", microseconds(sweep))
}

// MARK: Aggregation and snapshots.

var payloadFor10k: (cold: Double, warm: Double) = (0, 0)
for miners in [1_000, 10_000, 100_000] {
    let index = await filledAsicIndex(miners: miners)
    let take = Measurement.median(await Measurement.seconds(repeats: repeats) { consume(await index.snapshot()) })
    let snapshot = await index.snapshot()
    // The snapshot is held across the writes, as a broadcaster holds it while encoding, so that the writes
    // really pay for copying the shared tables.
    let oneLog = asicDeliveries(count: 1)
    let copyOnWrite = Measurement.median(
        await Measurement.seconds(repeats: repeats) {
            let held = await index.snapshot()
            await index.upsert(SampleMessages.asicMiner(id: 0))
            consume(await index.apply(oneLog))
            consume(held)
        })
    let recomputed = Measurement.median(
        Measurement.seconds(repeats: repeats) {
            consume(snapshot.recomputedAggregate())
        })
    let running = Measurement.median(
        await Measurement.seconds(repeats: repeats) {
            consume(await index.versionedAggregate())
        })
    let summary = snapshot.aggregate()
    var bytes = 0
    // The broadcaster keeps its encoder between ticks, so even the uncached one knows the payload size.
    var encoder = AsicMinerPayloadEncoder(cachesRecords: false)
    let cold = Measurement.median(
        Measurement.seconds(repeats: repeats) {
            let payload = encoder.indexPayload(
                snapshot, aggregate: snapshot.aggregate(), sequence: 1, generatedAt: receivedAt)
            bytes = payload.count
            consume(payload.count)
        })
    var cachedEncoder = AsicMinerPayloadEncoder()
    consume(cachedEncoder.indexPayload(snapshot, aggregate: summary, sequence: 0, generatedAt: receivedAt).count)
    let warm = Measurement.median(
        Measurement.seconds(repeats: repeats) {
            consume(
                cachedEncoder.indexPayload(
                    snapshot, aggregate: snapshot.aggregate(), sequence: 1,
                    generatedAt: receivedAt
                ).count)
        })
    let label = "\(miners / 1000)k"
    report.add("take snapshot inside the actor, \(label) miners", microseconds(take), "O(1): copy-on-write handles")
    report.add(
        "snapshot + first upsert and log after it (copy-on-write of both tables), \(label) miners",
        milliseconds(copyOnWrite), "paid inside the actor once per full-index build")
    report.add(
        "aggregate summed afresh over every listed log, \(label) miners", milliseconds(recomputed),
        "what each tick cost before the actors kept it up to date")
    report.add(
        "aggregate read from the actor (kept up to date by every change), \(label) miners",
        microseconds(running), "O(coins), no snapshot taken")
    report.add(
        "encode asic_miner_index, every record re-encoded, \(label) miners", milliseconds(cold),
        "\(megabytes(bytes)) payload")
    report.add(
        "encode asic_miner_index, unchanged records spliced from cache, \(label) miners",
        milliseconds(warm))
    if miners == 10_000 { payloadFor10k = (cold, warm) }
}

// MARK: JSONEncoder on the same 10k payload.

do {
    let index = await filledAsicIndex(miners: 10_000)
    let snapshot = await index.snapshot()
    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct CodableAggregate: Encodable {
        var coin_hashrate_map: [String: [CodableScalar]]
        var total_power: Double
        var asic_miner_alive: String
    }
    enum CodableScalar: Encodable {
        case number(Double)
        case text(String)
        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .number(value): try container.encode(value)
            case let .text(value): try container.encode(value)
            }
        }
    }
    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct CodablePayload: Encodable {
        var asic_miner_map: [String: CodableAsicMiner]
        var asic_miner_operational_map: [String: CodableAsicMinerLog]
        var asic_miner_aggregated_index: CodableAggregate
        var sequence: UInt64
        var generated_at: String
    }
    func build() -> CodablePayload {
        let aggregate = snapshot.aggregate()
        var miners: [String: CodableAsicMiner] = [:]
        for (id, entry) in snapshot.registry.entries where entry.miner.activated {
            miners[String(id)] = CodableAsicMiner(entry.miner)
        }
        var logs: [String: CodableAsicMinerLog] = [:]
        snapshot.forEachListedLog { id, entry in logs[String(id)] = CodableAsicMinerLog(entry.log) }
        return CodablePayload(
            asic_miner_map: miners, asic_miner_operational_map: logs,
            asic_miner_aggregated_index: CodableAggregate(
                coin_hashrate_map: aggregate.coinHashrates.mapValues {
                    [.number($0.display.value), .text($0.display.unit.symbol)]
                },
                total_power: aggregate.totalPower, asic_miner_alive: aggregate.alive),
            sequence: 1, generated_at: receivedAt.description)
    }
    let encoder = JSONEncoder()
    let prebuilt = build()
    let encodeOnly = Measurement.median(
        Measurement.seconds(repeats: repeats) {
            consume((try? encoder.encode(prebuilt))?.count ?? 0)
        })
    let buildAndEncode = Measurement.median(
        Measurement.seconds(repeats: repeats) {
            consume((try? encoder.encode(build()))?.count ?? 0)
        })
    let foundationBytes = (try? encoder.encode(prebuilt))?.count ?? 0
    report.add(
        "JSONEncoder, asic_miner_index, 10k miners, encode only (mirror prebuilt)", milliseconds(encodeOnly),
        "\(megabytes(foundationBytes)) payload")
    report.add("JSONEncoder, asic_miner_index, 10k miners, build mirror + encode", milliseconds(buildAndEncode))
    report.add(
        "snapshot speed-up vs JSONEncoder encode-only, 10k, every record re-encoded",
        "**\(format(encodeOnly / payloadFor10k.cold, digits: 1))x**")
    report.add(
        "snapshot speed-up vs JSONEncoder encode-only, 10k, unchanged records from cache",
        "**\(format(encodeOnly / payloadFor10k.warm, digits: 1))x**")
}

print("\n" + report.markdown())
