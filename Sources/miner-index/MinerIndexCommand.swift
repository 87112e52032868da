import ArgumentParser
import Logging
import MinerIndexService
import ServiceLifecycle

@main
struct MinerIndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miner-index",
        abstract: "Drains mining-farm operational logs from RabbitMQ into in-memory indexes and broadcasts "
            + "throttled snapshots of them to fanout exchanges.")

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
        let service = MinerIndexService(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
