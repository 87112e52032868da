import Foundation
import MinerIndex
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs full-index builds one at a time on a dedicated thread with a lower scheduling priority (nice 10), instead
/// of Swift's cooperative pool. A full index of a large fleet takes hundreds of milliseconds without a suspension
/// point: on the pool (two threads on a 2-core machine) two at once would leave no thread for ingest, and even on
/// its own thread at normal priority each build was a burst that took the CPU from the broker and from ingest,
/// which showed as queue build-ups and lag spikes. The full index is the least urgent work the service does, so
/// it gets what the rest leaves.
enum SnapshotEncodingQueue {
    private static let worker = LowPriorityWorker(name: "miner-index.snapshot-encoding", niceness: 10)

    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await worker.run(work)
    }
}

/// Encodes deltas on a thread of its own at normal priority. A delta costs the entries that changed in one
/// interval (milliseconds), not the fleet, and it is what keeps subscribers current, so it must not wait behind
/// a keyframe build at nice 10; it still stays off the cooperative pool, which ingest needs.
enum DeltaEncodingQueue {
    private static let worker = LowPriorityWorker(name: "miner-index.delta-encoding", niceness: 0)

    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await worker.run(work)
    }
}

/// One OS thread that runs submitted jobs in order, at a niceness above the process's.
final class LowPriorityWorker: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var started = false
    }

    private let name: String
    private let niceness: Int32
    private let state = Mutex(State())
    /// Signalled when a job is queued; the thread waits on it when there is nothing to do.
    private let wakeUp = NSCondition()

    init(name: String, niceness: Int32) {
        self.name = name
        self.niceness = niceness
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        let mustStart = state.withLock { state in
            state.jobs.append(job)
            defer { state.started = true }
            return !state.started
        }
        if mustStart { startThread() }
        wakeUp.lock()
        wakeUp.signal()
        wakeUp.unlock()
    }

    private func startThread() {
        let thread = Thread { [self] in
            #if canImport(Glibc)
            // On Linux the nice value belongs to the thread, and 0 names the calling one. Failing (for example
            // under a seccomp profile) only leaves the thread at normal priority.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            #endif
            while true { nextJob()() }
        }
        thread.name = name
        thread.start()
    }

    private func nextJob() -> @Sendable () -> Void {
        wakeUp.lock()
        defer { wakeUp.unlock() }
        while true {
            let job: (@Sendable () -> Void)? = state.withLock { state in
                state.jobs.isEmpty ? nil : state.jobs.removeFirst()
            }
            if let job { return job }
            wakeUp.wait()
        }
    }
}

/// An encoder that the broadcaster actor and the encoding thread take turns on, mutated in place so that its
/// per-miner cache is never copied.
final class SharedPayloadEncoder<Miner: RegisteredMiner & JSONRecord, Log: MinerLog & JSONRecord>: Sendable {
    let encoder: Mutex<MinerPayloadEncoder<Miner, Log>>

    init(_ encoder: MinerPayloadEncoder<Miner, Log>) {
        self.encoder = Mutex(encoder)
    }
}

extension LowPriorityWorker {
    /// `work`'s result, computed on this worker's thread after the jobs before it.
    func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: work()) }
        }
    }
}
