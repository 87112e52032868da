import AMQP
import BrokerTestSupport
import Foundation
import Logging
import MinerLoadKit
import Testing

/// Two real `miner-index` processes sharing one PostgreSQL store (a schema of their own), on the real broker.
@Suite(.serialized) struct StandbyTests {
    let folder = NSTemporaryDirectory() + "miner-index-standby-" + UUID().uuidString.prefix(8).lowercased()
    let state: String

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let base =
            ProcessInfo.processInfo.environment["MINER_INDEX_TEST_POSTGRES_URL"]
            ?? "postgres://miner_index:miner_index@127.0.0.1:5432/miner_index"
        state = base + "?sslmode=disable&schema=standby_" + UUID().uuidString.prefix(8).lowercased()
    }

    private func start(_ topology: StateTopology, _ name: String, extra: [String] = []) throws -> ServiceProcess {
        try ServiceProcess(arguments: topology.serviceArguments(state: state) + extra, logPath: "\(folder)/\(name).log")
    }

    private func readiness(_ service: ServiceProcess) async -> String {
        (try? await service.get("/readyz").body) ?? ""
    }

    private func fleet(_ topology: StateTopology, seconds: Int) throws -> LoadConfiguration {
        try topology.loadConfiguration { configuration in
            configuration.asicCount = 200
            configuration.cpuGpuCount = 40
            configuration.register = true
            configuration.deactivatedFraction = 0.05
            configuration.reportInterval = .seconds(1)
            configuration.persistent = true
            configuration.length = .duration(.seconds(seconds))
        }
    }

    /// The longest silence between consecutive aggregated ASIC snapshots, over the snapshots seen so far.
    private func longestGap(_ topology: StateTopology) -> Duration {
        let times = topology.snapshots.withLock { $0.filter { $0.exchange == topology.asicAggregated }.map(\.at) }
        return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .zero
    }

    @Test func aStandbyTakesOverWithinSecondsOfASigkill() async throws {
        let topology = try StateTopology()
        try await topology.listen()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let leader = try start(topology, "leader")
            // Ready is not enough: a standby is ready too, and its queue is declared only once it leads.
            #expect(
                await eventually(timeout: .seconds(30)) { await readiness(leader) == "consuming\n" }, "\(leader.log)")
            let standby = try start(topology, "standby")
            #expect(await eventually { await readiness(standby) == "standby\n" }, "\(standby.log)")
            #expect(await readiness(leader) == "consuming\n")

            let run = Task {
                try await LoadRun(
                    configuration: fleet(topology, seconds: 14), showsProgress: false, logger: TestBroker.logger
                ).run()
            }
            #expect(
                await eventually(timeout: .seconds(20)) {
                    ((try? await leader.get("/v1/asic_miners/aggregated_index").body) ?? "").contains(
                        "\"asic_miner_alive\":\"1")
                })
            // A few broadcast intervals of load (and so of checkpoints) before the kill.
            #expect(await topology.asicSnapshotsArrive(12))
            let epochBefore = topology.snapshots.withLock { $0.last?.epoch }
            leader.signal(SIGKILL)
            #expect(await leader.waitForExit() == -SIGKILL)
            #expect(
                await eventually(timeout: .seconds(10)) { await readiness(standby) == "consuming\n" }, "\(standby.log)")

            let summary = try await run.value
            let verification = try #require(summary.verification)
            #expect(verification.passed, "\(summary.text())")
            // The promise, measured on the snapshots themselves: no silence longer than 5 s across the kill.
            #expect(longestGap(topology) <= .seconds(5), "longest gap \(longestGap(topology))")
            let epochAfter = topology.snapshots.withLock { $0.last?.epoch }
            #expect((epochAfter ?? 0) > (epochBefore ?? Int64.max))
            standby.signal(SIGTERM)
            #expect(await standby.waitForExit() == 0)
        }
    }

    @Test func aStoppedLeaderIsReplacedAndStandsByWhenItWakes() async throws {
        let topology = try StateTopology()
        try await topology.listen()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let lease = ["--leader-lease", "4s"]
            let leader = try start(topology, "stopped-leader", extra: lease)
            // Ready is not enough: a standby is ready too, and its queue is declared only once it leads.
            #expect(
                await eventually(timeout: .seconds(30)) { await readiness(leader) == "consuming\n" }, "\(leader.log)")
            let standby = try start(topology, "stopped-standby", extra: lease)
            #expect(await eventually { await readiness(standby) == "standby\n" }, "\(standby.log)")

            let run = Task {
                try await LoadRun(
                    configuration: fleet(topology, seconds: 22), showsProgress: false, logger: TestBroker.logger
                ).run()
            }
            #expect(await topology.asicSnapshotsArrive(12) { !$0.alive.hasPrefix("0/") })
            let stoppedEpoch = topology.snapshots.withLock { $0.last?.epoch } ?? 0
            leader.signal(SIGSTOP)
            #expect(
                await eventually(timeout: .seconds(20)) { await readiness(standby) == "consuming\n" }, "\(standby.log)")
            // The new leader publishes for a lease and more before the old one wakes.
            #expect(await topology.asicSnapshotsArrive(16) { ($0.epoch ?? 0) > stoppedEpoch })
            leader.signal(SIGCONT)
            #expect(await eventually(timeout: .seconds(20)) { await readiness(leader) == "standby\n" }, "\(leader.log)")
            #expect(leader.log.contains("lost the leadership"))

            let summary = try await run.value
            #expect(try #require(summary.verification).passed, "\(summary.text())")
            // One publisher per epoch, ever.
            let publishers = topology.snapshots.withLock { seen in
                Dictionary(
                    grouping: seen.compactMap { snapshot in snapshot.epoch.map { ($0, snapshot.publisher) } }, by: \.0
                )
                .mapValues { Set($0.map(\.1)) }
            }
            #expect(publishers.count >= 2)
            #expect(publishers.values.allSatisfy { $0.count == 1 }, "\(publishers)")
            // Every aggregated snapshot carries its epoch in the body too, equal to the header.
            #expect(
                topology.snapshots.withLock { seen in seen.allSatisfy { $0.epoch != nil && $0.bodyEpoch == $0.epoch } })
            for service in [leader, standby] { service.signal(SIGTERM) }
            #expect(await leader.waitForExit() == 0)
            #expect(await standby.waitForExit() == 0)
        }
    }

    @Test func theLeaderRidesOutAPostgresRestart() async throws {
        let topology = try StateTopology()
        try await topology.listen()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let leader = try start(topology, "restart-leader")
            // Ready is not enough: a standby is ready too, and its queue is declared only once it leads.
            #expect(
                await eventually(timeout: .seconds(30)) { await readiness(leader) == "consuming\n" }, "\(leader.log)")

            let run = Task {
                try await LoadRun(
                    configuration: fleet(topology, seconds: 14), showsProgress: false, logger: TestBroker.logger
                ).run()
            }
            #expect(await topology.asicSnapshotsArrive(16) { !$0.alive.hasPrefix("0/") })
            let restart = try await PostgresServer.restart()
            #expect(restart.status == 0, "\(restart.output)")

            let summary = try await run.value
            #expect(try #require(summary.verification).passed, "\(summary.text())")
            #expect(longestGap(topology) <= .seconds(5), "longest gap \(longestGap(topology))")
            #expect(!leader.log.contains("lost the leadership"), "\(leader.log)")
            #expect(await eventually { (try? await leader.get("/readyz").status) == 200 })
            leader.signal(SIGTERM)
            #expect(await leader.waitForExit() == 0)
            // Its writes went on after the restart: the final checkpoint was written. (A write stuck in a query the
            // restart cut off once stopped every later checkpoint and then the exit.)
            #expect(!leader.log.contains("the final checkpoint was not written in time"), "\(leader.log)")
        }
    }
}

/// The test PostgreSQL, restarted through the project's script.
enum PostgresServer {
    static func restart() async throws -> (status: Int32, output: String) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let outputPath = NSTemporaryDirectory() + "postgres-restart-" + UUID().uuidString.prefix(8) + ".log"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/postgres.sh").path, "restart"]
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The script says when it is done; that line is awaited rather than the process, whose exit Foundation
        // does not always notice while the test process is this busy.
        var text = ""
        let done = await eventually(timeout: .seconds(90)) {
            text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            return text.contains("postgres: restarted") || text.contains("restart: ")
        }
        return (done && text.contains("postgres: restarted") ? 0 : 1, text)
    }
}
