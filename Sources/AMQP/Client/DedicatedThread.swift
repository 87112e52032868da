import Foundation

/// Runs blocking work on a new OS thread, so rabbitmq-c's blocking calls never occupy a thread of Swift's
/// cooperative pool.
enum DedicatedThread {
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.stackSize = 1 << 20
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
