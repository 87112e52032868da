internal import CRabbitMQ
import Glibc

/// An eventfd that lets any thread wake a client's I/O thread out of its poll, so acks and publishes handed over
/// from Swift tasks go out at once instead of after the next poll timeout.
struct Wakeup: Sendable {
    let descriptor: Int32

    init() {
        descriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(descriptor >= 0, "eventfd failed: errno \(errno)")
    }

    func signal() {
        var one: UInt64 = 1
        _ = write(descriptor, &one, MemoryLayout<UInt64>.size)
    }

    func drain() {
        var count: UInt64 = 0
        _ = read(descriptor, &count, MemoryLayout<UInt64>.size)
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    /// Blocks until the socket is readable, the wakeup is signalled, or the timeout passes.
    func wait(socket: Int32?, timeout: Duration) {
        var descriptors = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        if let socket, socket >= 0 {
            descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0))
        }
        let result = poll(&descriptors, nfds_t(descriptors.count), Int32(timeout.milliseconds))
        if result > 0, descriptors[0].revents != 0 {
            drain()
        }
    }

    /// Sleeps for `duration`, to the microsecond, whatever is signalled meanwhile: for pauses shorter than poll's
    /// millisecond, short enough that a signal can wait for their end.
    func pause(for duration: Duration) {
        let (seconds, attoseconds) = max(duration, .zero).components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        _ = nanosleep(&request, nil)
    }
}
