import Dispatch
import MinerIndex
import Synchronization

/// Runs full-index builds on one dedicated serial queue instead of Swift's cooperative pool. A full index of a
/// large fleet takes hundreds of milliseconds without a suspension point; on the pool (two threads on a 2-core
/// machine) two of them at once would leave no thread for ingest. Here they run one at a time, on a thread the
/// OS schedules fairly against ingest and the broker.
enum SnapshotEncodingQueue {
    private static let queue = DispatchQueue(label: "miner-index.snapshot-encoding", qos: .utility)

    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: work())
            }
        }
    }
}

/// An encoder that the broadcaster actor and the encoding queue take turns on, mutated in place so that its
/// per-miner cache is never copied.
final class SharedPayloadEncoder<Miner: RegisteredMiner & JSONRecord, Log: MinerLog & JSONRecord>: Sendable {
    let encoder: Mutex<MinerPayloadEncoder<Miner, Log>>

    init(_ encoder: MinerPayloadEncoder<Miner, Log>) {
        self.encoder = Mutex(encoder)
    }
}
