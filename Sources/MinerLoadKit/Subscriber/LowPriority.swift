#if canImport(Glibc)
import Glibc
#endif

/// Verification work that must yield the CPU to the load it verifies runs on threads at the lowest scheduling
/// priority (nice 19). Linux keeps a nice value per thread, so only the calling thread is lowered.
enum LowPriority {
    static func lowerCurrentThread() {
        #if os(Linux)
        // Only lowers: an unprivileged process may not raise it back, and nothing here needs to. A failure leaves
        // the thread at normal priority, which costs the load's pace, never correctness.
        guard let threadID = currentThreadID() else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), threadID, 19)
        #endif
    }

    #if os(Linux)
    /// The kernel's id of the calling thread, from `/proc/thread-self` ("<pid>/task/<tid>"): the C library's
    /// `gettid` is not visible to Swift here, and `syscall` is variadic.
    private static func currentThreadID() -> id_t? {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let target = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.split(separator: "/").last.flatMap { id_t($0) }
    }
    #endif
}
