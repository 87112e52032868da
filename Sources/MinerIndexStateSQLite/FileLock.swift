import Foundation
import MinerIndexState

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a file beside the database, held for the life of the process, so that a second
/// instance pointed at the same state refuses it instead of interleaving its writes. The kernel releases it when
/// the process dies, even by SIGKILL, so a crash never leaves a stale lock.
final class FileLock: Sendable {
    let path: String
    private let descriptor: Int32

    init(path: String) throws(StateStoreError) {
        self.path = path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StateStoreError(
                .unavailable, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder =
                (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            if reason == EWOULDBLOCK {
                throw StateStoreError(
                    .lockedByAnotherInstance,
                    "another miner-index\(holder.isEmpty ? "" : " (pid \(holder))") holds \(path); two instances "
                        + "cannot share one state file (give each its own --state, or use a PostgreSQL --state for a standby)"
                )
            }
            throw StateStoreError(.unavailable, "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        self.descriptor = descriptor
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
