import AMQP
import BrokerTestSupport
import Foundation
import Logging
import MinerLoadKit
import Testing

/// The real `miner-index` on a real state file and the real broker: killed, restarted, and given broken files.
@Suite(.serialized) struct RestartTests {
    let folder = NSTemporaryDirectory() + "miner-index-restart-" + UUID().uuidString.prefix(8).lowercased()

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    @Test func aSigkillUnderLoadLosesNoRegistryChangeAndVerifyPasses() async throws {
        let topology = try StateTopology()
        try await topology.listen()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let state = folder + "/state.sqlite"
            let first = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/first.log")
            #expect(await first.becomesReady(), "\(first.log)")

            let configuration = try topology.loadConfiguration { configuration in
                configuration.asicCount = 300
                configuration.cpuGpuCount = 60
                configuration.register = true
                configuration.deactivatedFraction = 0.05
                configuration.reportInterval = .seconds(1)
                configuration.persistent = true
                configuration.length = .duration(.seconds(12))
            }
            let run = Task {
                try await LoadRun(configuration: configuration, showsProgress: false, logger: TestBroker.logger).run()
            }

            // Kill it once every miner has reported (alive n/n) and a checkpoint has run since: two more writes.
            #expect(
                await eventually(timeout: .seconds(20)) {
                    let alive = topology.snapshots.withLock {
                        $0.last { $0.exchange == topology.asicAggregated }?.alive
                    }
                    let counts = (alive ?? "").split(separator: "/")
                    return counts.count == 2 && counts[0] == counts[1] && counts[0] != "0"
                })
            let writesBefore = await stateWrites(first)
            #expect(await eventually { await stateWrites(first) >= writesBefore + 2 }, "no checkpoint ran")
            let beforeKill = topology.sequences(on: topology.asicAggregated)
            first.signal(SIGKILL)
            #expect(await first.waitForExit() == -SIGKILL)
            let lastAlive = topology.snapshots.withLock { $0.last { $0.exchange == topology.asicAggregated }?.alive }

            let second = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/second.log")
            #expect(await second.becomesReady(), "\(second.log)")
            let summary = try await run.value
            let verification = try #require(summary.verification)
            #expect(verification.passed, "\(summary.text())")

            // Sequences only grow across the restart, and the first snapshot after it has the fleet of the last before.
            let afterRestart = topology.sequences(on: topology.asicAggregated).dropFirst(beforeKill.count)
            let lastBefore = try #require(beforeKill.last)
            let firstAfter = try #require(afterRestart.first)
            #expect(firstAfter > lastBefore)
            let firstAliveAfter = topology.snapshots.withLock {
                $0.dropFirst(beforeKill.count).first {
                    $0.exchange == topology.asicAggregated && $0.sequence == firstAfter
                }?.alive
            }
            #expect(firstAliveAfter == lastAlive)

            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0)
        }
    }

    /// Killed the moment its registry commands are acknowledged, long before any checkpoint: none is lost.
    @Test func anAcknowledgedRegistryChangeSurvivesAnImmediateSigkill() async throws {
        let topology = try StateTopology()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let state = folder + "/registry.sqlite"
            let arguments = topology.serviceArguments(state: state) + ["--checkpoint-interval", "1h"]
            let first = try ServiceProcess(arguments: arguments, logPath: folder + "/registry-1.log")
            #expect(await first.becomesReady(), "\(first.log)")
            let publisher = try topology.publisher()
            try await publisher.waitUntilConnected(timeout: .seconds(10))
            try await topology.publish(
                publisher, "asic_miner.upsert",
                ["id": 4242, "name": "S19-rack7-slot3", "model": "Antminer S19", "activated": false])
            try await topology.publish(
                publisher, "asic_miner.upsert", ["id": 4243, "name": "to be deleted", "activated": true])
            try await topology.publish(publisher, "asic_miner.delete", ["id": 4243])
            #expect(
                await eventually {
                    guard let depth = try? topology.queueDepth() else { return false }
                    return depth.ready == 0 && depth.unacknowledged == 0
                })
            first.signal(SIGKILL)
            #expect(await first.waitForExit() == -SIGKILL)

            let second = try ServiceProcess(arguments: arguments, logPath: folder + "/registry-2.log")
            #expect(await second.becomesReady(), "\(second.log)")
            let kept = try await second.get("/v1/asic_miners/4242")
            #expect(kept.status == 200)
            #expect(
                kept.body.contains("\"name\":\"S19-rack7-slot3\"") && kept.body.contains("\"activated\":false"),
                "\(kept.body)")
            #expect(kept.body.contains("\"model\":\"Antminer S19\""))
            #expect(try await second.get("/v1/asic_miners/4243").status == 404)
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0)
            await publisher.close()
        }
    }

    /// With checkpoints an hour apart, only the final checkpoint at SIGTERM can have written the logs.
    @Test func sigtermWritesAFinalCheckpoint() async throws {
        let topology = try StateTopology()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let state = folder + "/final.sqlite"
            let arguments = topology.serviceArguments(state: state) + ["--checkpoint-interval", "1h"]
            let first = try ServiceProcess(arguments: arguments, logPath: folder + "/final-1.log")
            #expect(await first.becomesReady(), "\(first.log)")
            let publisher = try topology.publisher()
            try await publisher.waitUntilConnected(timeout: .seconds(10))
            for id in 1...3 {
                try await topology.publish(
                    publisher, "cpu_gpu_miner.log",
                    [
                        "cpu_gpu_miner_id": id, "cpu_temp": 61, "cpu_hashrate": 14.5, "cpu_hashrate_uom": "KH/s",
                        "cpu_algorithm": "RandomX", "cpu_coin_name": "monero", "cpu_power": 90,
                    ])
            }
            #expect(
                await eventually {
                    ((try? await first.get("/v1/cpu_gpu_miners/aggregated_index").body) ?? "").contains(
                        "\"cpu_gpu_miner_alive\":\"3/3\"")
                })
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0)

            let second = try ServiceProcess(arguments: arguments, logPath: folder + "/final-2.log")
            #expect(await second.becomesReady(), "\(second.log)")
            let aggregate = try await second.get("/v1/cpu_gpu_miners/aggregated_index").body
            #expect(
                aggregate.contains("\"cpu_gpu_miner_alive\":\"3/3\"") && aggregate.contains("\"total_power\":270"),
                "\(aggregate)")
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0)
            await publisher.close()
        }
    }

    /// The charts survive a restart: the aggregated-history rows are checkpointed and read back before the first
    /// tick of the next process.
    @Test func theAggregatedHistorySurvivesARestart() async throws {
        let topology = try StateTopology()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let state = folder + "/history.sqlite"
            let first = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/history-1.log")
            #expect(await first.becomesReady(), "\(first.log)")
            let publisher = try topology.publisher()
            try await publisher.waitUntilConnected(timeout: .seconds(10))
            try await topology.publish(
                publisher, "cpu_gpu_miner.log",
                [
                    "cpu_gpu_miner_id": 1, "cpu_temp": 61, "cpu_hashrate": 14.5, "cpu_hashrate_uom": "KH/s",
                    "cpu_algorithm": "RandomX", "cpu_coin_name": "monero", "cpu_power": 90,
                ])
            func ticks(_ service: ServiceProcess) async -> [[String: Any]] {
                guard let body = try? await service.get("/v1/cpu_gpu_miners/aggregated_history?resolution=tick").body,
                    let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                else { return [] }
                return json["entries"] as? [[String: Any]] ?? []
            }
            #expect(
                await eventually {
                    let seen = await ticks(first)
                    return seen.count > 4 && seen.contains { $0["total_power"] as? Double == 90 }
                })
            let before = await ticks(first).compactMap { $0["bucket_start"] as? String }
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0)

            let second = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/history-2.log")
            #expect(await second.becomesReady(), "\(second.log)")
            let after = await ticks(second).compactMap { $0["bucket_start"] as? String }
            #expect(before.count > 2)
            #expect(Set(before).isSubset(of: Set(after)), "ticks lost in the restart")
            second.signal(SIGTERM)
            #expect(await second.waitForExit() == 0)
            await publisher.close()
        }
    }

    @Test func aCorruptFileIsMovedAsideAndTheServiceStartsEmpty() async throws {
        let topology = try StateTopology()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let state = folder + "/corrupt.sqlite"
            try Data(repeating: 0x42, count: 16_384).write(to: URL(fileURLWithPath: state))
            let service = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/corrupt.log")
            #expect(await service.becomesReady(), "\(service.log)")
            let moved = try FileManager.default.contentsOfDirectory(atPath: folder).filter {
                $0.hasPrefix("corrupt.sqlite.corrupt-")
            }
            #expect(moved.count == 1)
            let log = service.log
            #expect(
                log.contains("the state file is damaged") && log.contains(state) && log.contains(moved.first ?? "?"),
                "\(log)")
            let metrics = try await service.get("/metrics").body
            #expect(metrics.contains("miner_index_state_corrupt_files_total 1"), "\(metrics)")
            #expect(FileManager.default.fileExists(atPath: state))
            service.signal(SIGTERM)
            #expect(await service.waitForExit() == 0)
        }
    }

    @Test func aSecondInstanceOnTheSameFileRefusesToStart() async throws {
        let topology = try StateTopology()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let state = folder + "/shared.sqlite"
            let first = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/one.log")
            #expect(await first.becomesReady(), "\(first.log)")
            let second = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/two.log")
            let status = await second.waitForExit()
            #expect(status != nil && status != 0)
            #expect(second.log.contains("another miner-index (pid \(first.pid)) holds \(state).lock"), "\(second.log)")
            #expect(try await first.get("/readyz").status == 200)
            first.signal(SIGTERM)
            #expect(await first.waitForExit() == 0)
        }
    }

    /// A folder that cannot be written: registry commands stay unacknowledged (the broker keeps them), logs are
    /// applied and acknowledged, /readyz says why, and everything catches up once the folder can be written.
    @Test func aReadOnlyFolderHoldsRegistryAcksUntilItCanBeWritten() async throws {
        let topology = try StateTopology()
        try await withTearDown {
            await topology.tearDown()
        } body: {
            let mount = try ScratchMount(readOnly: true)
            let state = mount.path + "/state.sqlite"
            let service = try ServiceProcess(
                arguments: topology.serviceArguments(state: state), logPath: folder + "/ro.log")
            #expect(
                await eventually(timeout: .seconds(30)) {
                    guard let readiness = try? await service.get("/readyz") else { return false }
                    return readiness.status == 503 && readiness.body.contains("state store cannot be written")
                }, "\(service.log)")
            // The service declares its queue when it starts consuming; anything published before would not be routed.
            #expect(await eventually { ((try? topology.queueDepth())?.ready ?? -1) >= 0 })

            let publisher = try topology.publisher()
            try await publisher.waitUntilConnected(timeout: .seconds(10))
            try await topology.publish(publisher, "asic_miner.upsert", ["id": 77, "name": "held", "activated": true])
            for _ in 0..<5 {
                try await topology.publish(
                    publisher, "asic_miner.log",
                    [
                        "asic_miner_id": 78, "hashrate_5_min": 100, "hashrate_uom": "TH/s", "uptime": "00:00:01:00",
                        "pool_1_address": "stratum+tcp://p:3333", "pool_1_user": "u", "pool_1_state": "Alive",
                        "hashboard_1_temp_1": 60, "fan_1_speed": 5000, "lan_ip": "10.0.0.78", "coin_name": "bitcoin",
                        "power": 3000,
                    ])
            }
            #expect(
                await eventually(timeout: .seconds(20)) {
                    (try? await service.get("/v1/asic_miners/78").status) == 200
                        && (try? topology.queueDepth().unacknowledged) == 1
                }, "\(String(describing: try? topology.queueDepth()))")
            #expect(try await service.get("/v1/asic_miners/77").status == 200)
            let held = try topology.queueDepth()
            #expect(held.ready == 0 && held.unacknowledged == 1)

            try mount.remount(readOnly: false)
            #expect(
                await eventually(timeout: .seconds(30)) {
                    guard let depth = try? topology.queueDepth() else { return false }
                    return depth.ready == 0 && depth.unacknowledged == 0
                })
            #expect(await service.becomesReady())
            #expect(FileManager.default.fileExists(atPath: state))
            service.signal(SIGTERM)
            #expect(await service.waitForExit() == 0)
            await publisher.close()
        }
    }

    /// The store writes (registry commits and checkpoints) the service has made, from its `/metrics`.
    private func stateWrites(_ service: ServiceProcess) async -> Int {
        let exposition = (try? await service.get("/metrics").body) ?? ""
        let line = exposition.split(separator: "\n").first { $0.hasPrefix("miner_index_state_write_seconds_count") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Int(Double($0) ?? -1) } ?? -1
    }
}
