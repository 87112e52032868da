import ArgumentParser
import Foundation
import Logging
import MinerLoadKit

@main
struct MinerLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miner-load",
        abstract: "Simulates a mining farm: publishes operational logs of a fleet of ASIC miners and CPU/GPU rigs "
            + "to miner-index's input exchange, and with --verify checks the service's snapshots against them.",
        discussion: """
            Exit status: 0 on success; 1 when --verify found a mismatch, or found that a message reached no queue \
            or that the broker confirmed none; 64 for invalid flags; 69 when the broker cannot be reached or is lost.
            """)

    @OptionGroup var options: LoadOptions

    func validate() throws {
        guard Logger.Level(rawValue: options.logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level: '\(options.logLevel)' is not a log level")
        }
    }

    func run() async throws {
        let configuration: LoadConfiguration
        do {
            configuration = try options.resolve(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let level = Logger.Level(rawValue: options.logLevel.lowercased()) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let run = LoadRun(
            configuration: configuration, showsProgress: !options.quiet, logger: Logger(label: "miner-load"))
        let summary: LoadSummary
        do {
            summary = try await run.run()
        } catch {
            FileHandle.standardError.write(Data("miner-load: \(error)\n".utf8))
            throw ExitCode(69)
        }
        print(options.json ? summary.json() : summary.text())
        if !summary.succeeded { throw ExitCode(1) }
    }
}
