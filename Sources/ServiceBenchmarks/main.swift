import Foundation
import MinerIndex
import MinerIndexService

#if canImport(Glibc)
import Glibc
#endif

// `service-benchmarks [scrapes per round] [rounds]`, the cost of a `/metrics` scrape (issue 25): reading both aggregated indexes, rendering the fleet gauges and the
// service's own metrics, at 10k and 100k ASIC miners with 10 coins, 50 pools and 10 models (plus a fifth as many
// rigs), side by side with a scrape of the service's metrics alone (as before the fleet gauges) and with what one
// aggregated broadcast of both kinds costs. Run in release:
//   swift run -c release --scratch-path .build-service-bench service-benchmarks [scrapes per round] [rounds]
// CPU time of this process; each figure is the median over the rounds.

func cpuSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

let coins = ["bitcoin", "litecoin", "kaspa", "dash", "kadena", "zcash", "monero", "ergo", "alephium", "dogecoin"]
let models = (0..<10).map { "Antminer Model-\($0)" }

func asicLog(id: Int, insertedAt: String) -> [UInt8] {
    var text = #"{"asic_miner_id":\#(id),"hashrate_5_min":\#(95.5 + Double(id % 100) / 10),"hashrate_30_min":94.25,"#
    text +=
        #""hashrate_uom":"TH/s","pool_rejection_rate":0.01,"uptime":"03:11:10:10","lan_ip":"10.0.\#(id / 250 % 250).\#(id % 250)","#
    text += #""wan_ip":"203.0.113.9","coin_name":"\#(coins[id % coins.count])","power":\#(3200 + id % 100).5,"#
    text += #""inserted_at":"\#(insertedAt)","api_code":"sentry-\#(id)""#
    for slot in 1...3 {
        text += #","pool_\#(slot)_address":"stratum+tcp://pool\#((id + slot * 17) % 50).example.com:3333","#
        text += #""pool_\#(slot)_user":"farm.worker\#(id)","pool_\#(slot)_state":"Alive","#
        text += #""pool_\#(slot)_accepted_share":\#(1000 + id % 500),"pool_\#(slot)_rejected_share":\#(id % 13)"#
    }
    for board in 1...3 {
        text += #","hashboard_\#(board)_hashrate_5_min":31.5,"hashboard_\#(board)_hashrate_30_min":31.4,"#
        text += #""hashboard_\#(board)_temp_1":\#(58 + id % 20),"hashboard_\#(board)_temp_2":\#(62 + id % 22)"#
    }
    for fan in 1...4 { text += #","fan_\#(fan)_speed":\#(3600 + id % 3000)"# }
    return Array((text + "}").utf8)
}

func cpuGpuLog(id: Int, insertedAt: String) -> [UInt8] {
    var text = #"{"cpu_gpu_miner_id":\#(id),"cpu_temp":61.5,"cpu_hashrate":14.2,"cpu_hashrate_uom":"KH/s","#
    text += #""cpu_algorithm":"RandomX","cpu_pool_address":"pool.supportxmr.com:443","cpu_wallet_address":"44AF","#
    text += #""cpu_coin_name":"monero","cpu_power":95,"inserted_at":"\#(insertedAt)","gpu_hashrate_uom_1":"MH/s","#
    text +=
        #""gpu_algorithm_1":"Autolykos2","gpu_pool_address_1":"erg.2miners.com:8888","gpu_wallet_address_1":"9f4Q","#
    text += #""gpu_fan_uom":"%","gpu_coin_name_1":"\#(coins[(id + 3) % coins.count])""#
    for gpu in 1...4 {
        text += #","gpu_\#(gpu)_core_temp":\#(58 + gpu),"gpu_\#(gpu)_hashrate_1":\#(120.5 + Double(id % 7)),"#
        text += #""gpu_\#(gpu)_power":130.5,"gpu_\#(gpu)_fan":65"#
    }
    return Array((text + "}").utf8)
}

func filledIndexes(asicMiners: Int) async -> (AsicMinerOperationalIndex, CpuGpuMinerOperationalIndex) {
    let asic = AsicMinerOperationalIndex()
    let cpuGpu = CpuGpuMinerOperationalIndex()
    let decoder = MinerMessageDecoder()
    let now = Date()
    let insertedAt = ISO8601DateFormatter().string(from: now)
    let receivedAt = Timestamp(now)
    for id in 0..<asicMiners {
        _ = await asic.upsert(
            AsicMiner(id: Int64(id), name: "miner-\(id)", model: models[id % models.count], asicExpectedStatus: "on"))
    }
    var batch: [TimedCommand<AsicMinerCommand>] = []
    for id in 0..<asicMiners {
        guard
            case .asic(let command) = try? decoder.decode(
                routingKey: "asic_miner.log", body: asicLog(id: id, insertedAt: insertedAt))
        else { fatalError("the sample ASIC log does not decode") }
        batch.append(TimedCommand(command, receivedAt: receivedAt))
        if batch.count == 256 {
            _ = await asic.apply(batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    _ = await asic.apply(batch)
    var rigs: [TimedCommand<CpuGpuMinerCommand>] = []
    for id in 0..<asicMiners / 5 {
        let decoded: MinerCommand
        do {
            decoded = try decoder.decode(
                routingKey: "cpu_gpu_miner.log", body: cpuGpuLog(id: id, insertedAt: insertedAt))
        } catch {
            fatalError("the sample CPU/GPU log does not decode: \(error)")
        }
        guard case .cpuGpu(let command) = decoded else { fatalError("the sample CPU/GPU log is not a rig's") }
        rigs.append(TimedCommand(command, receivedAt: receivedAt))
    }
    _ = await cpuGpu.apply(rigs)
    return (asic, cpuGpu)
}

// `service-benchmarks list [pages per round] [rounds]`: the CPU of one page of the miner table (`GET …/list`), the
// scan of the registry included, at 10k and 100k ASIC miners, for the queries the fleet page makes.
if CommandLine.arguments.dropFirst().first == "list" {
    let numbers = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    let pages = max(1, numbers.first ?? 50)
    let rounds = max(1, numbers.dropFirst().first ?? 5)
    let queries: [(String, MinerListQuery)] = [
        ("by id, first page", MinerListQuery(limit: 100)),
        ("online, hottest first", MinerListQuery(statuses: [.online], sort: .temperature, order: .desc, limit: 100)),
        ("one model, by hashrate", MinerListQuery(model: models[3], sort: .hashrate, order: .desc, limit: 100)),
        ("search 'miner-12', by last seen", MinerListQuery(search: "miner-12", sort: .lastSeen, limit: 100)),
    ]
    print("| ASIC miners | query | matches | CPU per page |")
    print("|---|---|---|---|")
    for asicMiners in [10_000, 100_000] {
        let (asic, _) = await filledIndexes(asicMiners: asicMiners)
        let snapshot = await asic.snapshot()
        let now = Timestamp(Date())
        for (name, query) in queries {
            var total = 0
            var times: [Double] = []
            for _ in 0..<rounds {
                let start = cpuSeconds()
                for _ in 0..<pages { total = snapshot.list(query, now: now, staleAfterSeconds: 20).total }
                times.append((cpuSeconds() - start) / Double(pages))
            }
            print("| \(asicMiners) | \(name) | \(total) | \(String(format: "%.2f ms", median(times) * 1e3)) |")
        }
    }
    exit(0)
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let scrapes = max(10, arguments.first ?? 1_000)
let rounds = max(1, arguments.dropFirst().first ?? 7)

let export = PrometheusExport()
let serviceMetrics = ServiceMetrics(factory: export.factory)
// The scrape before the fleet gauges: the same service metrics in a registry of their own.
let serviceExport = PrometheusExport()
let serviceOnlyMetrics = ServiceMetrics(factory: serviceExport.factory)
// The labelled series a running service has.
for metrics in [serviceMetrics, serviceOnlyMetrics] {
    for kind in MinerKind.allCases {
        metrics.received(kind, count: 1)
        metrics.applied(kind, outcome: "applied", count: 1)
        metrics.deadLettered(kind, reason: "invalid_json")
    }
}
for exchange in [
    "asic_miner_index", "asic_miner_aggregated_index", "cpu_gpu_miner_index", "cpu_gpu_miner_aggregated_index",
] {
    serviceMetrics.snapshotPublished(exchange: exchange)
    serviceOnlyMetrics.snapshotPublished(exchange: exchange)
}

print(
    "| ASIC miners | rigs | coins, pools, models | read both aggregates | set the gauges and render | whole scrape | bytes | one aggregated broadcast (both kinds) | scrape ÷ broadcast |"
)
print("|---|---|---|---|---|---|---|---|---|")
for asicMiners in [10_000, 100_000] {
    let (asic, cpuGpu) = await filledIndexes(asicMiners: asicMiners)
    let first = await asic.versionedAggregate().aggregate
    var reading = FleetMetrics.Reading(
        asic: await asic.versionedAggregate(), cpuGpu: await cpuGpu.versionedAggregate(), role: .leader, ready: true,
        leaderEpoch: 1, maxLabelValues: 50)
    var read: [Double] = [], render: [Double] = [], whole: [Double] = [], broadcast: [Double] = []
    var serviceOnly: [Double] = []
    var bytes = 0
    let asicEncoder = MinerPayloadEncoder<AsicMiner, AsicMinerLog>(cachesRecords: false)
    let cpuGpuEncoder = MinerPayloadEncoder<CpuGpuMiner, CpuGpuMinerLog>(cachesRecords: false)
    for _ in 0..<rounds {
        var start = cpuSeconds()
        for _ in 0..<scrapes {
            async let asicAggregate = asic.versionedAggregate()
            async let cpuGpuAggregate = cpuGpu.versionedAggregate()
            reading.asic = await asicAggregate
            reading.cpuGpu = await cpuGpuAggregate
        }
        read.append((cpuSeconds() - start) / Double(scrapes))
        start = cpuSeconds()
        for _ in 0..<scrapes { bytes = export.render(fleet: reading).count }
        render.append((cpuSeconds() - start) / Double(scrapes))
        start = cpuSeconds()
        for _ in 0..<scrapes {
            async let asicAggregate = asic.versionedAggregate()
            async let cpuGpuAggregate = cpuGpu.versionedAggregate()
            reading.asic = await asicAggregate
            reading.cpuGpu = await cpuGpuAggregate
            bytes = export.render(fleet: reading).count
        }
        whole.append((cpuSeconds() - start) / Double(scrapes))
        start = cpuSeconds()
        for _ in 0..<scrapes {
            let asicNow = await asic.versionedAggregate()
            let cpuGpuNow = await cpuGpu.versionedAggregate()
            let generatedAt = Timestamp(Date())
            bytes &+=
                asicEncoder.aggregatedPayload(asicNow.aggregate, sequence: asicNow.version, generatedAt: generatedAt)
                .count
            bytes &+=
                cpuGpuEncoder.aggregatedPayload(
                    cpuGpuNow.aggregate, sequence: cpuGpuNow.version, generatedAt: generatedAt
                ).count
        }
        broadcast.append((cpuSeconds() - start) / Double(scrapes))
        start = cpuSeconds()
        for _ in 0..<scrapes { bytes &+= serviceExport.render().count }
        serviceOnly.append((cpuSeconds() - start) / Double(scrapes))
    }
    bytes = export.render(fleet: reading).count
    let shape = "\(first.coinHashrates.count), \(first.health.pools.count), \(first.health.models.count)"
    func microseconds(_ values: [Double]) -> String { String(format: "%.0f µs", median(values) * 1e6) }
    print(
        "| \(asicMiners) | \(asicMiners / 5) | \(shape) | \(microseconds(read)) | \(microseconds(render)) | \(microseconds(whole)) | \(bytes) | \(microseconds(serviceOnly)) | \(microseconds(broadcast)) | \(String(format: "%.2f×", median(whole) / median(broadcast))) |"
    )
}
