import ServiceLifecycle

/// One long-running part of the service, as a `Service` of the group `MinerIndexService` runs them in.
struct ServicePart: Service, CustomStringConvertible {
    enum Lifetime: Sendable {
        /// Runs until the group's graceful shutdown reaches it, then is cancelled.
        case gracefulShutdown
        /// Runs to its end, answering a graceful shutdown itself.
        case finished
    }

    let description: String
    let lifetime: Lifetime
    let body: @Sendable () async -> Void
    /// Runs once the body has returned: what closes the part.
    let then: @Sendable () async -> Void

    init(
        _ name: String, until lifetime: Lifetime, _ body: @escaping @Sendable () async -> Void,
        then: @escaping @Sendable () async -> Void = {}
    ) {
        description = name
        self.lifetime = lifetime
        self.body = body
        self.then = then
    }

    func run() async throws {
        switch lifetime {
        case .gracefulShutdown: await cancelWhenGracefulShutdown(body)
        case .finished: await body()
        }
        await then()
    }
}
