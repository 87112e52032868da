import Foundation
import MinerIndex

/// Feeds the aggregated histories one tick per broadcast interval: each index's aggregated index, read in
/// O(coins) as the aggregated broadcasts read it, at the wall-clock time of the tick. It ticks whether or not the
/// indexes changed, so the chart has a point for every interval.
struct AggregatedHistoryRecorder {
    let indexes: MinerIndexes
    let histories: AggregatedHistories
    let interval: Duration

    func run() async {
        await runFixedRate(every: interval) { await record(at: Timestamp(Date())) }
    }

    func record(at time: Timestamp) async {
        async let asic = indexes.asic.versionedAggregate()
        async let cpuGpu = indexes.cpuGpu.versionedAggregate()
        let (asicAggregate, cpuGpuAggregate) = await (asic, cpuGpu)
        histories.asic.record(AggregatedHistoryFigures(asicAggregate.aggregate), at: time)
        histories.cpuGpu.record(AggregatedHistoryFigures(cpuGpuAggregate.aggregate), at: time)
    }
}
