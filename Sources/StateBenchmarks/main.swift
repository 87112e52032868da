import Foundation
import Logging
import MinerIndex
import MinerIndexState
import MinerIndexStatePostgres
import MinerIndexStateSQLite
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// The state store's costs at a given fleet, in simulated time so that a minute of load runs as fast as the
// machine allows: each simulated second applies one second of reports (miners ÷ report interval) and then runs
// one checkpoint. CPU is process CPU time (all threads, including SQLite's), measured around the checkpoint alone;
// disk is /proc/self/io's write_bytes (what reached the storage layer, the WAL and its copy into the file).
//   swift build -c release --product state-benchmarks && .build/release/state-benchmarks [miners] [seconds] [folder]
// With a postgres:// URL in place of the folder, the same on PostgreSQL, in a schema of its own (dropped after):
// the server's processes then do the storage work, so their CPU (/proc/<pid>/stat) and writes (/proc/<pid>/io)
// are measured with this process's.

let arguments = CommandLine.arguments
let miners = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let seconds = arguments.count > 2 ? Int(arguments[2]) ?? 60 : 60
let folder = arguments.count > 3 ? arguments[3] : NSTemporaryDirectory() + "state-benchmarks-\(getpid())"
let postgresURL = folder.hasPrefix("postgres") ? folder : nil
let postgresSchema = "state_bench_\(getpid())"
let reportInterval = 5
let asicCount = miners * 3 / 4
let cpuGpuCount = miners - asicCount

func processCPU() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func writtenBytes(_ process: String = "self") -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(process)/io", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
        return Int(line.split(separator: " ").last ?? "0") ?? 0
    }
    return 0
}

/// The PostgreSQL server's processes on this machine (none without a postgres:// URL).
func serverProcesses() -> [String] {
    guard postgresURL != nil, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else {
        return []
    }
    return entries.filter { entry in
        entry.allSatisfy(\.isNumber)
            && ((try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8))?.hasPrefix("postgres") ?? false)
    }
}

/// CPU seconds of this process plus, on PostgreSQL, every server process (those that ended meanwhile are missed).
func storeCPU() -> Double {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return processCPU()
        + serverProcesses().reduce(0.0) { total, process in
            guard let stat = try? String(contentsOfFile: "/proc/\(process)/stat", encoding: .utf8),
                let afterName = stat.range(of: ") ", options: .backwards)
            else { return total }
            let fields = stat[afterName.upperBound...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
                return total
            }
            return total + (user + system) / ticks
        }
}

/// Bytes this process, and on PostgreSQL every server process, sent to the storage layer.
func storeWrittenBytes() -> Int {
    writtenBytes() + serverProcesses().reduce(0) { $0 + writtenBytes($1) }
}

@MainActor func openStore() throws -> any StateStore {
    guard let postgresURL else { return SQLiteStateStore(path: path, logger: logger) }
    let separator = postgresURL.contains("?") ? "&" : "?"
    return try PostgresStateStore(
        location: PostgresLocation(url: postgresURL + separator + "schema=" + postgresSchema), logger: logger)
}

func fileBytes(_ path: String) -> Int {
    ["", "-wal"].reduce(0) { total, suffix in
        total + ((try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0)
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

var logger = Logger(label: "state-benchmarks")
logger.logLevel = .warning
let path = folder + "/bench.sqlite"
if postgresURL == nil {
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

let start = Timestamp(Date())
let configuration = IndexConfiguration(tracksChanges: true)
let plainConfiguration = IndexConfiguration(tracksChanges: false)
var fleet = SimulatedFleet(asicCount: asicCount, cpuGpuCount: cpuGpuCount)

/// One simulated second of reports: every miner whose turn it is, by id.
func reports(second: Int, fleet: inout SimulatedFleet)
    -> ([TimedCommand<AsicMinerCommand>], [TimedCommand<CpuGpuMinerCommand>])
{
    let time = start.adding(seconds: Double(second))
    var asic: [TimedCommand<AsicMinerCommand>] = []
    var cpuGpu: [TimedCommand<CpuGpuMinerCommand>] = []
    for id in stride(from: second % reportInterval, to: asicCount, by: reportInterval) {
        asic.append(TimedCommand(.log(fleet.asicLog(id: Int64(id), at: time)), receivedAt: time))
    }
    for id in stride(from: second % reportInterval, to: cpuGpuCount, by: reportInterval) {
        cpuGpu.append(TimedCommand(.log(fleet.cpuGpuLog(id: Int64(id), at: time)), receivedAt: time))
    }
    return (asic, cpuGpu)
}

// `state-benchmarks encode`: encoding alone in a loop, for a profiler.
if ProcessInfo.processInfo.environment["ENCODE_ONLY"] != nil {
    let (asicBatch, cpuGpuBatch) = reports(second: 0, fleet: &fleet)
    let asicLogs = asicBatch.compactMap { delivery -> ObservedLog<AsicMinerLog>? in
        if case .log(let log) = delivery.command { return ObservedLog(log: log, observedAt: delivery.receivedAt) }
        return nil
    }
    let cpuGpuLogs = cpuGpuBatch.compactMap { delivery -> ObservedLog<CpuGpuMinerLog>? in
        if case .log(let log) = delivery.command { return ObservedLog(log: log, observedAt: delivery.receivedAt) }
        return nil
    }
    var total = 0
    let started = processCPU()
    for _ in 0..<50 {
        total += StateWriter.segment(.asic, asicLogs)?.body.count ?? 0
        total += StateWriter.segment(.cpuGpu, cpuGpuLogs)?.body.count ?? 0
    }
    let perLog = (processCPU() - started) / Double(50 * (asicLogs.count + cpuGpuLogs.count)) * 1e6
    print(
        "encode: \(String(format: "%.2f", perLog)) µs per log, \(total / 50 / (asicLogs.count + cpuGpuLogs.count)) B per log"
    )
    exit(0)
}

let asic = AsicMinerOperationalIndex(configuration: configuration)
let cpuGpu = CpuGpuMinerOperationalIndex(configuration: configuration)
let plainAsic = AsicMinerOperationalIndex(configuration: plainConfiguration)
let plainCpuGpu = CpuGpuMinerOperationalIndex(configuration: plainConfiguration)
let simulatedNow = LockedTime(start)
let store = try openStore()
let writer = StateWriter(
    store: store, retention: RetentionPolicy(offlineAfter: .seconds(60), historyMaxAge: .seconds(3600)), logger: logger,
    now: { simulatedNow.value })
let writerTask = Task { await writer.run() }

for id in 0..<asicCount { await asic.upsert(fleet.asicMiner(id: Int64(id))) }
for id in 0..<asicCount { await plainAsic.upsert(fleet.asicMiner(id: Int64(id))) }
writer.submit(await asic.drainChanges(includeLogs: false))
_ = await writer.flush(timeout: .seconds(120))

var drainCPU: [Double] = []
var checkpointCPU: [Double] = []
var clientCheckpointCPU: [Double] = []
var checkpointWall: [Double] = []
var applyCPU: [Double] = []
var plainApplyCPU: [Double] = []
var bytesWritten: [Int] = []
let totalBytesBefore = storeWrittenBytes()
var logsPerSecond: [Int] = []
for second in 0..<(seconds + reportInterval) {
    let (asicBatch, cpuGpuBatch) = reports(second: second, fleet: &fleet)
    simulatedNow.value = start.adding(seconds: Double(second))
    let plainStarted = processCPU()
    for chunk in stride(from: 0, to: asicBatch.count, by: 500) {
        _ = await plainAsic.apply(Array(asicBatch[chunk..<min(chunk + 500, asicBatch.count)]))
    }
    for chunk in stride(from: 0, to: cpuGpuBatch.count, by: 500) {
        _ = await plainCpuGpu.apply(Array(cpuGpuBatch[chunk..<min(chunk + 500, cpuGpuBatch.count)]))
    }
    let applyStarted = processCPU()
    for chunk in stride(from: 0, to: asicBatch.count, by: 500) {
        _ = await asic.apply(Array(asicBatch[chunk..<min(chunk + 500, asicBatch.count)]))
    }
    for chunk in stride(from: 0, to: cpuGpuBatch.count, by: 500) {
        _ = await cpuGpu.apply(Array(cpuGpuBatch[chunk..<min(chunk + 500, cpuGpuBatch.count)]))
    }
    let checkpointStarted = processCPU()
    let storeCPUStarted = storeCPU()
    let bytesBefore = storeWrittenBytes()
    let wallStarted = ContinuousClock.now
    let asicChanges = await asic.drainChanges(includeLogs: true)
    let cpuGpuChanges = await cpuGpu.drainChanges(includeLogs: true)
    let drained = processCPU()
    writer.submit(asicChanges)
    writer.submit(cpuGpuChanges)
    writer.submit(counters: ["sequence.asic_miner_index": Int64(second)])
    _ = await writer.flush(timeout: .seconds(60))
    let checkpointEnded = processCPU()
    let storeCPUEnded = storeCPU()
    // The first report interval fills the store; steady state is measured after it.
    guard second >= reportInterval else { continue }
    plainApplyCPU.append(applyStarted - plainStarted)
    applyCPU.append(checkpointStarted - applyStarted)
    checkpointCPU.append(storeCPUEnded - storeCPUStarted)
    clientCheckpointCPU.append(checkpointEnded - checkpointStarted)
    drainCPU.append(drained - checkpointStarted)
    checkpointWall.append((ContinuousClock.now - wallStarted).secondsValue)
    bytesWritten.append(storeWrittenBytes() - bytesBefore)
    logsPerSecond.append(asicBatch.count + cpuGpuBatch.count)
}
writerTask.cancel()
await writerTask.value
await store.close()
let logs = Double(logsPerSecond.reduce(0, +)) / Double(logsPerSecond.count)
// Every byte the run wrote, including the first interval and the WAL's copies into the file, over the steady seconds.
let meanBytesPerSecond = Double(storeWrittenBytes() - totalBytesBefore) / Double(seconds + reportInterval)

// Encoding alone: one second's segments.
var encodeCPU: [Double] = []
do {
    let (asicBatch, cpuGpuBatch) = reports(second: 0, fleet: &fleet)
    let asicLogs = asicBatch.compactMap { delivery -> ObservedLog<AsicMinerLog>? in
        if case .log(let log) = delivery.command { return ObservedLog(log: log, observedAt: delivery.receivedAt) }
        return nil
    }
    let cpuGpuLogs = cpuGpuBatch.compactMap { delivery -> ObservedLog<CpuGpuMinerLog>? in
        if case .log(let log) = delivery.command { return ObservedLog(log: log, observedAt: delivery.receivedAt) }
        return nil
    }
    for _ in 0..<5 {
        let started = processCPU()
        let sizes = StateWriter.segment(.asic, asicLogs).map { $0.body.count } ?? 0
        let moreSizes = StateWriter.segment(.cpuGpu, cpuGpuLogs).map { $0.body.count } ?? 0
        encodeCPU.append(processCPU() - started)
        if encodeCPU.count == 1 {
            print(
                "segment bytes per log: ASIC \(sizes / max(1, asicLogs.count)), CPU/GPU \(moreSizes / max(1, cpuGpuLogs.count))"
            )
        }
    }
}

// Restore: a fresh process's work before its first snapshot, on the file just written.
var restoreWall: [Double] = []
var restoreCPU: [Double] = []
var restoredLive = 0
for _ in 0..<3 {
    let wallStarted = ContinuousClock.now
    let cpuStarted = processCPU()
    let reopened = try openStore()
    let now = simulatedNow.value
    let stored = try await reopened.load(logsSince: now.adding(.seconds(-60)))
    let restored = try StateRestore.restore(stored, now: now, offlineAfter: .seconds(60))
    let freshAsic = AsicMinerOperationalIndex(configuration: configuration)
    let freshCpuGpu = CpuGpuMinerOperationalIndex(configuration: configuration)
    await freshAsic.applyPersisted(restored.asic, now: now)
    await freshCpuGpu.applyPersisted(restored.cpuGpu, now: now)
    let aggregate = await freshAsic.versionedAggregate().aggregate
    restoreWall.append((ContinuousClock.now - wallStarted).secondsValue)
    restoreCPU.append(processCPU() - cpuStarted)
    restoredLive = aggregate.liveCount + (await freshCpuGpu.versionedAggregate().aggregate.liveCount)
    await reopened.close()
}
let expectedLive =
    await asic.versionedAggregate().aggregate.liveCount + (await cpuGpu.versionedAggregate().aggregate.liveCount)

func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
let cpuShare = median(checkpointCPU)
let perLog = cpuShare / logs * 1e6
print(
    "state store benchmark (\(postgresURL == nil ? "SQLite" : "PostgreSQL, client and server processes")): "
        + "\(asicCount) ASIC + \(cpuGpuCount) CPU/GPU miners, one report each per \(reportInterval) s "
        + "(\(Int(logs)) logs per simulated second), \(checkpointCPU.count) steady checkpoints")
print("| figure | median | range |")
print("|---|---|---|")
print(
    "| checkpoint CPU per second of load (share of one core) | \(format(cpuShare * 100, 1)) % | \(format((checkpointCPU.min() ?? 0) * 100, 1))–\(format((checkpointCPU.max() ?? 0) * 100, 1)) % |"
)
// The median leaves out the once-a-minute WAL folds; the mean carries them.
let meanCPUShare = checkpointCPU.reduce(0, +) / Double(max(1, checkpointCPU.count))
print(
    "| checkpoint CPU per second of load, mean (WAL folds included) | \(format(meanCPUShare * 100, 1)) % | \(format(meanCPUShare / logs * 1e6, 2)) µs per log |"
)
// The first fold copies the whole initial fill (every registry record, every miner's first log) into a file that
// grows from nothing: a cost paid once per new file. After it, each fold copies one minute's changed pages.
let afterFirstFold = Array(checkpointCPU.dropFirst(max(0, 62 - reportInterval)))
if !afterFirstFold.isEmpty {
    let share = afterFirstFold.reduce(0, +) / Double(afterFirstFold.count)
    print(
        "| checkpoint CPU per second of load, mean after the first minute (later folds included) | \(format(share * 100, 1)) % | \(format(share / logs * 1e6, 2)) µs per log, \(afterFirstFold.count) checkpoints |"
    )
}
print(
    "| checkpoint CPU per log | \(format(perLog, 2)) µs | of which this process \(format(median(clientCheckpointCPU) / logs * 1e6, 2)) µs |"
)
print(
    "| of which draining the actors / encoding the segments | \(format(median(drainCPU) / logs * 1e6, 2)) / \(format(median(encodeCPU) / logs * 1e6, 2)) µs per log | |"
)
print(
    "| checkpoint wall time | \(format(median(checkpointWall) * 1000, 0)) ms | \(format((checkpointWall.min() ?? 0) * 1000, 0))–\(format((checkpointWall.max() ?? 0) * 1000, 0)) ms |"
)
print(
    "| disk writes per second of load, mean over the run | \(format(meanBytesPerSecond / 1e6, 2)) MB/s | checkpoints \(format(Double(bytesWritten.min() ?? 0) / 1e6, 2))–\(format(Double(bytesWritten.max() ?? 0) / 1e6, 2)) MB |"
)
print("| disk bytes per log, mean | \(format(meanBytesPerSecond / logs, 0)) B | |")
// Steady state: the checkpoints after the first report interval, each with its share of the WAL folds.
let steadyBytesPerSecond = Double(bytesWritten.reduce(0, +)) / Double(max(1, bytesWritten.count))
print(
    "| disk writes per second of load, steady (after the first \(reportInterval) s, WAL folds included) | \(format(steadyBytesPerSecond / 1e6, 2)) MB/s | \(format(steadyBytesPerSecond / logs, 0)) B per log |"
)
print(
    "| apply CPU per log, store tracking on / off | \(format(median(applyCPU) / logs * 1e6, 2)) / \(format(median(plainApplyCPU) / logs * 1e6, 2)) µs | ratio \(format(median(plainApplyCPU) / median(applyCPU), 3))× |"
)
if postgresURL == nil { print("| state file size (file + WAL) | \(format(Double(fileBytes(path)) / 1e6, 1)) MB | |") }
print(
    "| restore (open, read, decode, apply; \(restoredLive) live of \(expectedLive)) | \(format(median(restoreWall) * 1000, 0)) ms wall, \(format(median(restoreCPU) * 1000, 0)) ms CPU | \(format((restoreWall.min() ?? 0) * 1000, 0))–\(format((restoreWall.max() ?? 0) * 1000, 0)) ms |"
)
if postgresURL != nil {
    print("(the rows are in schema \(postgresSchema); DROP SCHEMA \(postgresSchema) CASCADE removes them)")
} else if ProcessInfo.processInfo.environment["KEEP"] == nil {
    try? FileManager.default.removeItem(atPath: folder)
}

/// The simulated clock, read by the writer's task.
final class LockedTime: Sendable {
    private let time: Mutex<Timestamp>
    init(_ time: Timestamp) { self.time = Mutex(time) }
    var value: Timestamp {
        get { time.withLock { $0 } }
        set { time.withLock { $0 = newValue } }
    }
}
