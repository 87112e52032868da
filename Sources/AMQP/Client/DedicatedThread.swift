import Foundation

/// Runs blocking work on a new OS thread, so rabbitmq-c's blocking calls never occupy a thread of Swift's
/// cooperative pool.
enum DedicatedThread {
    /// rabbitmq-c decodes nested field tables recursively, with no depth limit of its own, on the thread that
    /// reads the frame. One frame of at most 128 KiB can nest about 26,000 arrays (5 bytes a level), which takes
    /// it megabytes of stack: measured, 2 MiB overflows and 4 MiB suffices, so 16 MiB leaves a margin. Less lets
    /// one hostile message crash the process. The reservation is virtual memory, touched only as deep as a frame
    /// really goes.
    static let stackSize = 16 << 20

    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.stackSize = stackSize
        thread.start()
    }

    static func run<Result: Sendable>(
        name: String,
        _ body: @escaping @Sendable () throws(AMQPError) -> Result
    ) async throws(AMQPError) -> Result {
        let outcome: Swift.Result<Result, AMQPError> = await withCheckedContinuation { continuation in
            start(name: name) {
                do throws(AMQPError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try outcome.get()
    }
}
