import ArgumentParser
import Logging
import Metrics
import MinerIndexCommandLine
import MinerIndexService
import ServiceLifecycle

@main
struct MinerIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miner-index",
        abstract: "Drains mining-farm operational logs from RabbitMQ into in-memory indexes and broadcasts "
            + "throttled snapshots of them to fanout exchanges.",
        discussion: "Every option can also be set through the environment variable named after it, e.g. "
            + "MINER_INDEX_AMQP_URL for --amqp-url; the option wins.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration: ServiceConfiguration
        do {
            configuration = try options.resolve()
        } catch {
            throw ValidationError("\(error)")
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "miner-index")

        let prometheus = PrometheusExport()
        MetricsSystem.bootstrap(prometheus.factory)
        let service = MinerIndexService(
            configuration: configuration, metrics: ServiceMetrics(factory: prometheus.factory), logger: logger)

        // ServiceGroup shuts down in reverse order: the service drains first while HTTP still answers /readyz.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = configuration.httpPort {
            let http = HTTPServer.application(
                service: service, metrics: prometheus, host: configuration.httpHost, port: port, logger: logger,
                onListening: { port in
                    logger.info("HTTP listening", metadata: ["address": "\(configuration.httpHost):\(port)"])
                })
            services.append(.init(service: http))
        }
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
