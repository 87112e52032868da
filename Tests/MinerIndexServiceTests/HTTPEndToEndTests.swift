import AMQP
import BrokerTestSupport
import Foundation
import MinerIndex
import MinerIndexService
import Testing

@Suite(.serialized) struct HTTPEndToEndTests {
    /// A dead-letter queue left as a classic queue by an earlier run, and the service now asked for quorum queues:
    /// the broker refuses the declaration with a 406 on every attempt. /readyz says which queue, which argument and
    /// what to do, as the error logged once does.
    @Test func aQueueOfAnotherTypeOnTheBrokerIsNamedWithItsFixInReadyz() async throws {
        let harness = try ServiceHarness(withHTTP: true) { $0.queueType = .quorum }
        let leftover = harness.configuration.deadLetterQueue
        _ = try await AMQPAdmin.withChannel(harness.configuration.amqp) { channel throws(AMQPError) in
            try channel.declare(Topology(queues: [QueueDeclaration(name: leftover, durable: true)]))
        }
        harness.launchWithoutWaiting()
        var reason = ""
        let refused = await eventually(timeout: .seconds(20)) {
            guard let answer = try? await harness.get("/readyz"), answer.status == 503 else { return false }
            reason = String(decoding: answer.body, as: UTF8.self)
            return reason.contains("x-queue-type")
        }
        await harness.tearDown()
        #expect(refused, "\(reason)")
        #expect(reason.contains("declaring queue '\(leftover)' failed"), "\(reason)")
        #expect(reason.contains("406"), "\(reason)")
        #expect(
            reason.contains("delete it (moving its messages elsewhere first) or declare it as it stands"), "\(reason)")
    }

    @Test func healthReadinessAndMetricsFollowTheBroker() async throws {
        let harness = try ServiceHarness(withHTTP: true)
        try await harness.start()

        #expect(try await harness.get("/healthz").status == 200)
        #expect(try await harness.get("/readyz").status == 200)

        let before = try await metric("miner_index_messages_received_total{kind=\"asic_miner\"}", harness)
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 1, hashrate: 1))
        try await harness.publish("asic_miner.log", raw: Array("garbage".utf8))
        #expect(
            await eventually {
                (try? await metric("miner_index_messages_received_total{kind=\"asic_miner\"}", harness)) == before + 2
            })
        #expect(
            await eventually {
                (try? await metric(
                    "miner_index_messages_dead_lettered_total{kind=\"asic_miner\",reason=\"invalid_json\"}", harness))
                    == 1
            })
        #expect(
            await eventually {
                (try? await metric(
                    "miner_index_messages_applied_total{kind=\"asic_miner\",outcome=\"applied\"}", harness)) == 1
            })
        #expect(await eventually { ((try? await metric("miner_index_acks_total", harness)) ?? 0) >= 2 })
        #expect(await eventually { ((try? await metric("miner_index_history_entries", harness)) ?? 0) >= 1 })
        #expect(await eventually { (try? await metric("miner_index_miners_alive{kind=\"asic_miner\"}", harness)) == 1 })
        #expect(
            await eventually {
                ((try? await metric(
                    "miner_index_snapshots_published_total{exchange=\"\(harness.configuration.outputExchanges.asicIndex)\"}",
                    harness)) ?? 0) >= 1
            })
        let exposition = String(decoding: try await harness.get("/metrics").body, as: UTF8.self)
        for name in [
            "miner_index_snapshot_build_seconds_bucket", "miner_index_apply_lag_seconds_bucket",
            "miner_index_miners_alive", "miner_index_miners_registered", "miner_index_history_entries",
            "miner_index_redeliveries_total", "miner_index_input_queue_ready_messages",
        ] {
            #expect(exposition.contains(name), "\(name) missing from /metrics")
        }
        #expect(await eventually { (try? await metric("miner_index_input_queue_ready_messages", harness)) == 0 })

        try TestBroker.rabbitmqctl("stop_app")
        let notReady = await eventually(timeout: .seconds(20)) {
            (try? await harness.get("/readyz").status) == 503
        }
        // A depth that cannot be read is not shown as an empty queue.
        let depthUnknown = await eventually(timeout: .seconds(20)) {
            (try? await metric("miner_index_input_queue_ready_messages", harness))?.isNaN ?? false
        }
        let reason = String(decoding: (try? await harness.get("/readyz").body) ?? Data(), as: UTF8.self)
        try TestBroker.rabbitmqctl("start_app")
        try TestBroker.rabbitmqctl("await_startup")
        #expect(notReady)
        #expect(depthUnknown)
        #expect(!reason.isEmpty && reason != "consuming\n", "503 body should say why: \(reason)")
        #expect(try await harness.get("/healthz").status == 200)
        let readyAgain = await eventually(timeout: .seconds(30)) {
            (try? await harness.get("/readyz").status) == 200
        }
        #expect(readyAgain)
        await harness.tearDown()
    }

    @Test func theReadAPIReturnsWhatTheSnapshotsSay() async throws {
        let harness = try ServiceHarness(withHTTP: true)
        try await harness.start()
        let exchanges = harness.configuration.outputExchanges

        try await harness.publish("asic_miner.upsert", Messages.asicMiner(id: 7))
        try await harness.publish(
            "asic_miner.log", Messages.asicLog(id: 7, hashrate: 110, coin: "bitcoin", power: 3100))
        try await harness.publish(
            "asic_miner.log", Messages.asicLog(id: 8, hashrate: 9, unit: "GH/s", coin: "kaspa", power: 900))
        try await harness.publish(
            "asic_miner.log", Messages.asicLog(id: 7, hashrate: 112, coin: "bitcoin", power: 3150))
        try await harness.publish("cpu_gpu_miner.log", Messages.cpuGpuLog(id: 3, overrides: ["cpu_power": 80]))

        let snapshot = try #require(
            await harness.waitForSnapshot(on: exchanges.asicAggregatedIndex) { $0["total_power"] as? Double == 4050 })
        let aggregated = try parse(try await harness.get("/v1/asic_miners/aggregated_index"))
        for key in ["coin_hashrate_map", "total_power", "asic_miner_alive"] {
            #expect(
                NSDictionary(dictionary: aggregated).value(forKey: key) as? NSObject
                    == NSDictionary(dictionary: snapshot).value(forKey: key) as? NSObject, "\(key) differs")
        }
        let index = try parse(try await harness.get("/v1/asic_miners"))
        let broadcastIndex = try #require(
            await harness.waitForSnapshot(on: exchanges.asicIndex) {
                (($0["asic_miner_aggregated_index"] as? [String: Any])?["total_power"] as? Double) == 4050
            })
        for key in ["asic_miner_map", "asic_miner_operational_map", "asic_miner_aggregated_index"] {
            #expect(
                NSDictionary(dictionary: index).value(forKey: key) as? NSObject
                    == NSDictionary(dictionary: broadcastIndex).value(forKey: key) as? NSObject, "\(key) differs")
        }

        let detail = try parse(try await harness.get("/v1/asic_miners/7"))
        #expect((detail["miner"] as? [String: Any])?["name"] as? String == "S19-7")
        #expect((detail["latest_log"] as? [String: Any])?["hashrate_5_min"] as? Double == 112)
        let history = try parse(try await harness.get("/v1/asic_miners/7/history"))
        #expect((history["entries"] as? [Any])?.count == 2)
        let cpu = try parse(try await harness.get("/v1/cpu_gpu_miners/aggregated_index"))
        #expect(cpu["cpu_gpu_miner_alive"] as? String == "1/1")
        #expect(cpu["total_power"] as? Double == 80)
        #expect(try await harness.get("/v1/cpu_gpu_miners/3").status == 200)
        #expect(try await harness.get("/v1/cpu_gpu_miners").status == 200)

        for path in ["/v1/asic_miners/999", "/v1/asic_miners/999/history", "/v1/cpu_gpu_miners/999"] {
            let response = try await harness.get(path)
            #expect(response.status == 404, "\(path)")
            #expect((try? parse(response))?["error"] is String, "\(path) needs a JSON error body")
        }
        for path in ["/v1/asic_miners/abc", "/v1/asic_miners/-1/history", "/v1/cpu_gpu_miners/1.5"] {
            #expect(try await harness.get(path).status == 400, "\(path)")
        }
        for path in ["/v1/asic_miners", "/v1/asic_miners/7", "/v1/cpu_gpu_miners/3"] {
            #expect(!String(decoding: try await harness.get(path).body, as: UTF8.self).contains("secret"))
        }
        await harness.tearDown()
    }

    /// The miner table's pages: filters, order, the cursor to the end, the statuses, and a 400 with the reason for a
    /// bad parameter; `list` is not taken for a miner id.
    @Test func theListPagesTheFleetThroughItsCursor() async throws {
        let harness = try ServiceHarness(withHTTP: true)
        try await harness.start()
        var messages: [(routingKey: String, object: [String: Any])] = []
        for id in 1...12 {
            messages.append(("asic_miner.upsert", Messages.asicMiner(id: id, activated: id != 12)))
            if id <= 10 { messages.append(("asic_miner.log", Messages.asicLog(id: id, hashrate: Double(id * 10)))) }
        }
        try await harness.publishAll(messages)
        try await harness.publish("cpu_gpu_miner.log", Messages.cpuGpuLog(id: 3, overrides: ["cpu_power": 80]))
        #expect(
            await eventually {
                let answer = try? self.parse(try await harness.get("/v1/asic_miners/list?status=online"))
                return answer?["total"] as? Int == 10
            })

        var ids: [Int] = []
        var path = "/v1/asic_miners/list?sort=hashrate&order=desc&limit=4"
        var pages = 0
        while pages < 10 {
            let page = try parse(try await harness.get(path))
            pages += 1
            #expect(page["total"] as? Int == 12)
            #expect(page["sequence"] is Int)
            let rows = try #require(page["miners"] as? [[String: Any]])
            ids += rows.compactMap { $0["id"] as? Int }
            guard let cursor = page["next_cursor"] as? String else { break }
            path = "/v1/asic_miners/list?sort=hashrate&order=desc&limit=4&cursor=\(cursor)"
        }
        // Hashrate descending; 11 (activated, no log) and 12 (deactivated, no log) have none and come last.
        #expect(ids == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 11, 12])
        #expect(pages == 3)

        let top = try parse(try await harness.get("/v1/asic_miners/list?q=s19-1&sort=id&order=desc&limit=2"))
        let rows = try #require(top["miners"] as? [[String: Any]])
        #expect(top["total"] as? Int == 4)  // S19-1, S19-10, S19-11, S19-12
        #expect(rows.compactMap { $0["id"] as? Int } == [12, 11])
        #expect(rows.first?["status"] as? String == "disabled")
        #expect(rows.last?["status"] as? String == "offline")
        #expect(rows.last?["model"] as? String == "Antminer S19")
        let one = try parse(try await harness.get("/v1/asic_miners/list?q=10.0.0.7&status=online,stale"))
        let seven = try #require((one["miners"] as? [[String: Any]])?.first)
        #expect(seven["id"] as? Int == 7 && seven["hashrate"] as? Double == 7e13 && seven["temp"] as? Int == 65)
        #expect(seven["last_seen"] is String && seven["lan_ip"] as? String == "10.0.0.7")

        let rigs = try parse(try await harness.get("/v1/cpu_gpu_miners/list"))
        #expect(rigs["total"] as? Int == 1)
        #expect((rigs["miners"] as? [[String: Any]])?.first?["model"] == nil)

        for bad in ["limit=501", "sort=colour", "status=asleep", "cursor=zzz", "page=2", "order=up"] {
            let response = try await harness.get("/v1/asic_miners/list?\(bad)")
            #expect(response.status == 400, "\(bad)")
            #expect((try? parse(response))?["error"] is String, "\(bad) needs a JSON error body")
        }
        await harness.tearDown()
    }

    @Test func withATokenTheReadAPIAnswersOnlyItsBearerAndHealthAndMetricsStayOpen() async throws {
        let token = "s3cret-Token/with+symbols="
        let harness = try ServiceHarness(withHTTP: true) { $0.httpToken = HTTPToken(token) }
        try await harness.start()
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 7, hashrate: 1))
        try await harness.publish("cpu_gpu_miner.log", Messages.cpuGpuLog(id: 3))
        #expect(await eventually { await harness.service.indexes.asic.entry(7) != nil })

        let readPaths = [
            "/v1/asic_miners", "/v1/asic_miners/aggregated_index", "/v1/asic_miners/7", "/v1/asic_miners/7/history",
            "/v1/cpu_gpu_miners", "/v1/cpu_gpu_miners/aggregated_index", "/v1/cpu_gpu_miners/3",
            "/v1/asic_miners/999", "/v1/asic_miners/abc", "/v1/asic_miners/list?limit=5", "/v1/cpu_gpu_miners/list",
        ]
        for path in readPaths {
            for (authorization, challenge) in [
                (nil, "Bearer realm=\"miner-index\""),
                ("Bearer wrong", "Bearer realm=\"miner-index\", error=\"invalid_token\""),
                ("Bearer \(token)x", "Bearer realm=\"miner-index\", error=\"invalid_token\""),
                ("Bearer \(token.dropLast())", "Bearer realm=\"miner-index\", error=\"invalid_token\""),
                ("Basic \(token)", "Bearer realm=\"miner-index\", error=\"invalid_token\""),
                (token, "Bearer realm=\"miner-index\", error=\"invalid_token\""),
            ] {
                let response = try await harness.get(path, authorization: authorization)
                #expect(response.status == 401, "\(path) with \(authorization ?? "no header")")
                #expect(response.headers["www-authenticate"] == challenge, "\(path): \(response.headers)")
                #expect(
                    (try? parse((response.status, response.body)))?["error"] is String, "\(path) needs a JSON error")
                #expect(!String(decoding: response.body, as: UTF8.self).contains(token))
            }
        }
        // Other spellings of a read path either reach the guarded routes or none.
        for path in [
            "//v1/asic_miners", "/v1//asic_miners", "/v1/asic_miners/", "/v1/./asic_miners", "/V1/asic_miners",
            "/v1/asic_miners?x=1", "/v1/asic_miners/7/history/",
        ] {
            #expect(try await harness.get(path, authorization: nil).status != 200, "\(path) answered without the token")
        }
        for scheme in ["Bearer", "bearer", "BEARER"] {
            #expect(try await harness.get("/v1/asic_miners/7", authorization: "\(scheme) \(token)").status == 200)
        }
        #expect(try await harness.get("/v1/asic_miners/999", authorization: "Bearer \(token)").status == 404)
        #expect(try await harness.get("/v1/asic_miners/abc", authorization: "Bearer \(token)").status == 400)
        for path in ["/healthz", "/readyz", "/metrics"] {
            #expect(try await harness.get(path).status == 200, "\(path) must stay open")
        }
        #expect(harness.configuration.summary["http_token"] == "set")
        #expect(!"\(harness.configuration.summary)".contains(token))
        await harness.tearDown()
    }

    @Test func theAggregatedHistoryEndpointsServeTicksAndTheirMeansAcrossARestart() async throws {
        let harness = try ServiceHarness(withHTTP: true)
        try await harness.start()
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 1, hashrate: 110, power: 3100))
        try await harness.publish("asic_miner.log", Messages.asicLog(id: 2, hashrate: 90, power: 2900))

        // A tick every broadcast interval; wait for one that shows both miners.
        var ticks: [[String: Any]] = []
        let sawBoth = await eventually {
            ticks = (try? await entries("/v1/asic_miners/aggregated_history?resolution=tick", harness)) ?? []
            return ticks.last?["total_power"] as? Double == 6000
        }
        #expect(sawBoth)
        let tick = try #require(ticks.last)
        #expect(tick["samples"] as? Int == 1)
        #expect(tick["alive"] as? Int == 2)
        #expect(tick["registered"] as? Int == 2)
        #expect(tick["coin_hashrate_map"] as? [String: Double] == ["Bitcoin": 200e12])
        #expect(tick["status_counts"] as? [String: Int] == ["online": 2, "stale": 0, "offline": 0, "disabled": 0])

        // A minute or an hour row is the mean of its first `samples` ticks (more may have come since).
        for (resolution, width) in [("1m", 60.0), ("1h", 3600.0)] {
            let bucket = try #require(
                try await entries("/v1/asic_miners/aggregated_history?resolution=\(resolution)", harness).last)
            let start = try #require((bucket["bucket_start"] as? String).flatMap(ISO8601Timestamp.parse))
            let samples = try #require(bucket["samples"] as? Int)
            let since = ISO8601Timestamp.format(start)
            let inBucket = try await entries(
                "/v1/asic_miners/aggregated_history?resolution=tick&since=\(since)", harness
            )
            .filter { tick in
                (tick["bucket_start"] as? String).flatMap(ISO8601Timestamp.parse).map {
                    $0 < start.adding(seconds: width)
                } ?? false
            }
            .prefix(samples)
            #expect(inBucket.count == samples, "\(resolution)")
            for key in ["total_power", "alive"] {
                let mean = inBucket.reduce(0.0) { $0 + (($1[key] as? Double) ?? .nan) } / Double(samples)
                #expect(abs(((bucket[key] as? Double) ?? .nan) - mean) <= 0.001, "\(resolution) \(key)")
            }
        }

        #expect(
            try await entries("/v1/asic_miners/aggregated_history?resolution=tick&since=2999-01-01T00:00:00Z", harness)
                .isEmpty)
        #expect(try await harness.get("/v1/cpu_gpu_miners/aggregated_history?resolution=1h").status == 200)
        for (query, mention) in [
            ("resolution=5m", "resolution"), ("", "resolution"),
            ("resolution=tick&since=yesterday", "since"),
            ("resolution=1m&since=2026-13-01T00:00:00Z", "since"),
        ] {
            for kind in ["asic_miners", "cpu_gpu_miners"] {
                let response = try await harness.get("/v1/\(kind)/aggregated_history?\(query)")
                #expect(response.status == 400, "\(kind) \(query)")
                #expect(((try? parse(response))?["error"] as? String)?.contains(mention) == true, "\(kind) \(query)")
            }
        }

        // A restart: the next instance restores the rows the first handed over, and serves them.
        let handedOver = harness.service.histories.asic.pendingRows()
        await harness.tearDown()
        let next = try ServiceHarness(withHTTP: true)
        next.service.histories.asic.restore(handedOver, now: Timestamp(Date()))
        try await next.start()
        let restored = try await entries("/v1/asic_miners/aggregated_history?resolution=tick", next)
        #expect(restored.contains { $0["total_power"] as? Double == 6000 }, "the chart lost its past")
        #expect(
            try await entries("/v1/asic_miners/aggregated_history?resolution=1m", next).first?["bucket_start"]
                as? String
                == ISO8601Timestamp.format(try #require(handedOver.first { $0.resolution == .minute }?.bucketStart)))
        await next.tearDown()
    }

    private func entries(_ path: String, _ harness: ServiceHarness) async throws -> [[String: Any]] {
        let response = try await harness.get(path)
        guard response.status == 200 else { throw HistoryError.status(response.status) }
        return try #require(try parse(response)["entries"] as? [[String: Any]])
    }

    enum HistoryError: Error { case status(Int) }

    private func parse(_ response: (status: Int, body: Data)) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
    }

    private func metric(_ series: String, _ harness: ServiceHarness) async throws -> Double {
        let text = String(decoding: try await harness.get("/metrics").body, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? -1
        }
        return 0
    }
}

@Suite struct ContainerFileTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `docker-compose config` with the profiles given: the file as Compose reads it, or an expectation failed.
    private func composeConfig(profiles: [String] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-compose")
        process.arguments =
            ["--file", Self.root.appendingPathComponent("docker-compose.yml").path]
            + profiles.flatMap { ["--profile", $0] } + ["config"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "docker-compose config failed: \(text)")
        return text
    }

    @Test func theComposeFileParses() throws {
        let text = try composeConfig()
        for service in ["rabbitmq:", "miner-index:", "miner-load:", "postgres:", "miner-index-a:", "miner-index-b:"] {
            #expect(text.contains(service), "compose file lacks \(service)")
        }
        #expect(text.contains("condition: service_healthy"))
        // Both replicas of the `ha` profile share one PostgreSQL store and one single-active-consumer quorum queue.
        #expect(text.components(separatedBy: "MINER_INDEX_STATE: postgres://").count == 3)
        #expect(text.components(separatedBy: "MINER_INDEX_SINGLE_ACTIVE_CONSUMER: \"true\"").count == 3)
    }

    /// The `observability` profile mounts the rules, the scrape configuration and the Grafana files from `deploy/`.
    @Test func theObservabilityProfileMountsWhatDeployHolds() throws {
        let root = Self.root
        let text = try composeConfig(profiles: ["observability"])
        for service in ["prometheus:", "grafana:", "miner-index:"] {
            #expect(text.contains(service), "the observability profile lacks \(service)")
        }
        for (source, target) in [
            ("deploy/prometheus", "/etc/prometheus"), ("deploy/grafana/provisioning", "/etc/grafana/provisioning"),
            ("deploy/grafana/dashboards", "/var/lib/grafana/dashboards"),
        ] {
            let path = root.appendingPathComponent(source).path
            #expect(text.contains("source: \(path)") || text.contains("\(path):\(target)"), "\(source) is not mounted")
            #expect(FileManager.default.fileExists(atPath: path))
        }
        for file in [
            "deploy/prometheus/prometheus.yml", "deploy/prometheus/rules.yml",
            "deploy/grafana/provisioning/datasources/prometheus.yml",
            "deploy/grafana/provisioning/dashboards/miner-index.yml", "deploy/grafana/dashboards/miner-index.json",
        ] {
            #expect(
                FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path), "\(file) is missing")
        }
    }

    @Test func theDockerfileRunsAsNonRootWithAHealthcheck() throws {
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("HEALTHCHECK"))
        #expect(dockerfile.contains("/healthz"))
        #expect(dockerfile.contains("EXPOSE 8080"))
        #expect(dockerfile.components(separatedBy: "\nFROM ").count >= 2, "multi-stage build expected")
        #expect(dockerfile.contains("\nUSER "))
    }
}
