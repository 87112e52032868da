#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Timing and memory probes for the benchmark; every figure is the median of several runs.
enum Measurement {
    /// CPU seconds consumed by this process, all threads: unlike wall time it does not count the time other
    /// processes hold the cores, so figures stay comparable on a shared two-core machine.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Seconds per run of `body`, `repeats` times.
    static func seconds(repeats: Int, _ body: () -> Void) -> [Double] {
        (0..<repeats).map { _ in
            let start = now()
            body()
            return now() - start
        }
    }

    static func seconds(repeats: Int, _ body: () async -> Void) async -> [Double] {
        var runs: [Double] = []
        for _ in 0..<repeats {
            let start = now()
            await body()
            runs.append(now() - start)
        }
        return runs
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Resident set size from /proc/self/statm, in bytes (0 where /proc is missing).
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        guard
            withUnsafeMutablePointer(
                to: &size,
                { sizePointer in
                    withUnsafeMutablePointer(to: &resident) { residentPointer in
                        withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
                    }
                }) == 2
        else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Hands freed heap back to the system so the next RSS delta measures only what follows.
    static func releaseFreedMemory() {
        // glibc's malloc_trim is not in Swift's Glibc module, so it is looked up at run time.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        typealias MallocTrim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
    }
}

/// Keeps results observable so the optimiser cannot drop the work being timed.
nonisolated(unsafe) var benchmarkSink = 0

@inline(never)
func consume<Value>(_ value: Value) {
    withUnsafeBytes(of: value) { benchmarkSink &+= $0.count }
}
