import MinerIndex

/// Focused loops for `perf record`: `miner-index-benchmarks profile
/// encode|record|changed-fields|aggregate|decode|decode-cpu-gpu`
/// repeats one operation for a few seconds so a sampling profiler sees nothing else.
enum ProfilingLoops {
    static func run(_ name: String, index: AsicMinerOperationalIndex) async {
        let snapshot = await index.snapshot()
        let deadline = Measurement.now() + 5
        switch name {
        case "encode":
            var iterations = 0
            defer { print("encoded \(iterations) payloads in 5 s") }
            var encoder = AsicMinerPayloadEncoder(cachesRecords: false)
            while Measurement.now() < deadline {
                iterations += 1
                consume(
                    encoder.indexPayload(
                        snapshot, aggregate: snapshot.aggregate(), sequence: 1,
                        generatedAt: Timestamp(microsecondsSinceEpoch: 0)
                    ).count)
            }
        case "record":
            guard let log = try? AsicMinerLog.decode(json: SampleMessages.asicLog(id: 1)) else { return }
            var writer = JSONWriter(reservingCapacity: 4096)
            var iterations = 0
            while Measurement.now() < deadline {
                for _ in 0..<1000 {
                    writer.removeAll()
                    log.writeJSON(to: &writer)
                }
                iterations += 1000
            }
            print("wrote \(iterations) logs in 5 s, \(writer.bytes.count) B each")
        case "changed-fields":
            // A log against the same miner's previous report, as a delta writes it.
            guard let previous = try? AsicMinerLog.decode(json: SampleMessages.asicLog(id: 1, report: 1)),
                let log = try? AsicMinerLog.decode(json: SampleMessages.asicLog(id: 1, report: 2))
            else { return }
            var writer = JSONWriter(reservingCapacity: 4096)
            var fingerprint: [UInt64] = []
            var iterations = 0
            while Measurement.now() < deadline {
                for _ in 0..<1000 {
                    writer.removeAll()
                    previous.writeJSON(to: &writer, fingerprint: &fingerprint, onlyChanged: false)
                    writer.removeAll()
                    log.writeJSON(to: &writer, fingerprint: &fingerprint, onlyChanged: true)
                }
                iterations += 1000
            }
            print(
                "wrote \(iterations) logs whole, then their changed fields, in 5 s, \(writer.bytes.count) B changed each"
            )
        case "aggregate":
            var iterations = 0
            while Measurement.now() < deadline {
                consume(snapshot.recomputedAggregate())
                iterations += 1
            }
            print("aggregated \(iterations) times in 5 s")
        default:
            let decoder = MinerMessageDecoder()
            let isCpuGpu = name == "decode-cpu-gpu"
            let routingKey = isCpuGpu ? "cpu_gpu_miner.log" : "asic_miner.log"
            let bodies = (0..<256).map { isCpuGpu ? SampleMessages.cpuGpuLog(id: $0) : SampleMessages.asicLog(id: $0) }
            var count = 0
            while Measurement.now() < deadline {
                for body in bodies { consume(try? decoder.decode(routingKey: routingKey, body: body)) }
                count += bodies.count
            }
            print("decoded \(count) \(routingKey) bodies in 5 s")
        }
    }
}
