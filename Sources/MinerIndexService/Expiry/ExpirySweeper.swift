import Foundation
import Logging
import MinerIndex

/// Removes miners that have gone silent, every `interval` (one second by default). A removal bumps the index
/// version, so the next broadcast shows it.
struct ExpirySweeper {
    let indexes: MinerIndexes
    let metrics: ServiceMetrics
    let interval: Duration
    let logger: Logger

    func run() async {
        await runFixedRate(every: interval) { await sweep(now: Timestamp(Date())) }
    }

    func sweep(now: Timestamp) async {
        async let asic = indexes.asic.expire(now: now)
        async let cpuGpu = indexes.cpuGpu.expire(now: now)
        let (asicExpired, cpuGpuExpired) = await (asic, cpuGpu)
        metrics.historyEntries.record(await indexes.asic.historyEntryCount)
        if !asicExpired.isEmpty || !cpuGpuExpired.isEmpty {
            logger.debug(
                "miners went offline",
                metadata: ["asic_miners": "\(asicExpired.count)", "cpu_gpu_miners": "\(cpuGpuExpired.count)"])
        }
    }
}
