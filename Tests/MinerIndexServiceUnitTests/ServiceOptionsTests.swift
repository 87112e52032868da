import AMQP
import Foundation
import MinerIndex
import MinerIndexCommandLine
import MinerIndexService
import Testing

@Suite struct ServiceOptionsTests {
    private func resolve(_ arguments: [String], environment: [String: String] = [:]) throws -> ServiceConfiguration {
        try ServiceOptions.parse(arguments).resolve(environment: environment)
    }

    @Test func defaultsMatchTheContract() throws {
        let configuration = try resolve([])
        #expect(configuration.amqp.redactedURL == "amqp://guest:***@127.0.0.1:5672/")
        #expect(configuration.prefetch == 500)
        #expect(configuration.queue == "miner_index.operational_logs")
        #expect(configuration.queueType == .classic)
        #expect(configuration.inputExchange == "miner_operational_logs")
        #expect(configuration.deadLetterExchange == "miner_index.dead_letter")
        #expect(configuration.broadcastInterval == .seconds(1))
        #expect(configuration.idleBroadcastInterval == .seconds(10))
        #expect(configuration.fullIndexBacklogInterval == .seconds(5))
        #expect(configuration.offlineAfter == .seconds(60))
        #expect(configuration.staleAfter == .seconds(20))
        #expect(configuration.historyLimit == 60)
        #expect(configuration.maxBodyBytes == 65536)
        #expect(configuration.httpPort == 8080)
        #expect(configuration.deliveryLimit == 5)
        #expect(
            configuration.outputExchanges.all == [
                "asic_miner_index", "asic_miner_aggregated_index", "cpu_gpu_miner_index",
                "cpu_gpu_miner_aggregated_index",
            ])
    }

    @Test func theKeyframeAndDeltaSettingsComeFromFlagsOrTheEnvironment() throws {
        let defaults = try resolve([])
        #expect(defaults.keyframeInterval == .seconds(30))
        #expect(defaults.maxMessageBytes == 16 * 1024 * 1024)
        #expect(
            defaults.outputExchanges.stream == [
                "asic_miner_index.delta", "cpu_gpu_miner_index.delta", "miner_index.keyframe_requests",
            ])
        // The delta exchanges follow a renamed index exchange unless named themselves.
        let renamed = try resolve(
            [
                "--asic-index-exchange", "farm.asic", "--cpu-gpu-delta-exchange", "farm.rigs.changes",
                "--keyframe-interval", "2m",
            ],
            environment: [
                "MINER_INDEX_MAX_MESSAGE_BYTES": "65536", "MINER_INDEX_KEYFRAME_REQUEST_EXCHANGE": "farm.ask",
            ])
        #expect(renamed.outputExchanges.stream == ["farm.asic.delta", "farm.rigs.changes", "farm.ask"])
        #expect(renamed.keyframeInterval == .seconds(120))
        #expect(renamed.maxMessageBytes == 65536)
        #expect(throws: (any Error).self) { try resolve(["--max-message-bytes", "1000"]) }
        #expect(throws: (any Error).self) { try resolve(["--keyframe-interval", "often"]) }
    }

    @Test func environmentVariablesApplyAndFlagsWin() throws {
        let environment = [
            "MINER_INDEX_AMQP_URL": "amqp://farm:pw@broker:5673/farm",
            "MINER_INDEX_PREFETCH": "200",
            "MINER_INDEX_BROADCAST_INTERVAL": "500ms",
            "MINER_INDEX_QUEUE_TYPE": "quorum",
            "MINER_INDEX_SINGLE_ACTIVE_CONSUMER": "true",
            "MINER_INDEX_FULL_INDEX_BACKLOG_INTERVAL": "20s",
            "MINER_INDEX_STALE_AFTER": "45s",
        ]
        let fromEnvironment = try resolve([], environment: environment)
        #expect(fromEnvironment.amqp.host == "broker")
        #expect(fromEnvironment.amqp.virtualHost == "farm")
        #expect(fromEnvironment.prefetch == 200)
        #expect(fromEnvironment.broadcastInterval == .milliseconds(500))
        #expect(fromEnvironment.queueType == .quorum)
        #expect(fromEnvironment.singleActiveConsumer)
        #expect(fromEnvironment.fullIndexBacklogInterval == .seconds(20))
        #expect(fromEnvironment.staleAfter == .seconds(45))

        let renamed = try resolve(
            ["--asic-index-exchange", "farm.asic"],
            environment: ["MINER_INDEX_CPU_GPU_AGGREGATED_EXCHANGE": "farm.rigs.agg"])
        #expect(renamed.outputExchanges.asicIndex == "farm.asic")
        #expect(renamed.outputExchanges.cpuGpuAggregatedIndex == "farm.rigs.agg")
        #expect(renamed.outputExchanges.asicAggregatedIndex == "asic_miner_aggregated_index")

        let flagsWin = try resolve(
            ["--prefetch", "50", "--broadcast-interval", "2s", "--stale-after", "30s"],
            environment: environment)
        #expect(flagsWin.prefetch == 50)
        #expect(flagsWin.staleAfter == .seconds(30))
        #expect(flagsWin.broadcastInterval == .seconds(2))
        #expect(flagsWin.amqp.host == "broker")
    }

    @Test(arguments: [
        (["--broadcast-interval", "soon"], "--broadcast-interval"),
        (["--queue-type", "stream"], "--queue-type"),
        (["--log-level", "loud"], "--log-level"),
        (["--offline-after", "0s"], "--offline-after"),
        (["--stale-after", "later"], "--stale-after"),
        (["--history-limit", "0"], "history-limit"),
        (["--delivery-limit", "-1"], "delivery-limit"),
        (["--offline-after", "1e30h"], "--offline-after"),
        (["--amqp-url", "http://broker"], "amqp://"),
    ])
    func badValuesAreRefusedWithTheirSource(arguments: [String], mention: String) {
        #expect {
            try resolve(arguments)
        } throws: { error in
            "\(error)".contains(mention)
        }
    }

    @Test func aBadEnvironmentValueNamesTheVariable() {
        #expect {
            try resolve([], environment: ["MINER_INDEX_PREFETCH": "lots"])
        } throws: { error in
            "\(error)".contains("MINER_INDEX_PREFETCH")
        }
    }

    @Test func theStartupSummaryNeverShowsThePassword() throws {
        let configuration = try resolve(["--amqp-url", "amqp://farm:hunter2@broker/"])
        #expect(!"\(configuration.summary)".contains("hunter2"))
    }
}

@Suite struct DeliveryLimitTests {
    private func resolve(_ arguments: [String], environment: [String: String] = [:]) throws -> ServiceConfiguration {
        try ServiceOptions.parse(arguments).resolve(environment: environment)
    }

    @Test func theLimitComesFromTheFlagOrTheEnvironmentAndZeroMeansNone() throws {
        #expect(try resolve([], environment: ["MINER_INDEX_DELIVERY_LIMIT": "3"]).deliveryLimit == 3)
        #expect(
            try resolve(["--delivery-limit", "7"], environment: ["MINER_INDEX_DELIVERY_LIMIT": "3"]).deliveryLimit == 7)
        #expect(try resolve(["--delivery-limit", "0"]).deliveryLimit == nil)
    }

    @Test func onlyAQuorumInputQueueIsDeclaredWithTheLimit() throws {
        var configuration = ServiceConfiguration(amqp: try ConnectionSettings(url: "amqp://localhost"))
        func inputArguments() throws -> FieldTable {
            try #require(
                ServiceTopology(configuration: configuration).input.queues.first { $0.name == configuration.queue }
            )
            .arguments
        }
        #expect(try inputArguments()["x-delivery-limit"] == nil, "classic queues have no delivery limit")
        configuration.queueType = .quorum
        #expect(try inputArguments()["x-delivery-limit"] == .int(5))
        let deadLetterQueue = try #require(
            ServiceTopology(configuration: configuration).input.queues.first {
                $0.name == configuration.deadLetterQueue
            })
        #expect(deadLetterQueue.arguments["x-delivery-limit"] == nil)
        configuration.deliveryLimit = nil
        #expect(try inputArguments()["x-delivery-limit"] == nil)
        #expect(configuration.summary["delivery_limit"] == "none")
        configuration.deliveryLimit = 2
        #expect(configuration.summary["delivery_limit"] == "2")
    }
}

@Suite struct HTTPTokenTests {
    private func resolve(_ arguments: [String], environment: [String: String] = [:]) throws -> ServiceConfiguration {
        try ServiceOptions.parse(arguments).resolve(environment: environment)
    }

    private func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theTokenComesFromTheFlagTheEnvironmentOrAFile() throws {
        #expect(try resolve([]).httpToken == nil)
        #expect(try resolve(["--http-token", "abc"]).httpToken?.isPresented(in: "Bearer abc") == true)
        #expect(
            try resolve([], environment: ["MINER_INDEX_HTTP_TOKEN": "abc"]).httpToken?.isPresented(in: "Bearer abc")
                == true)
        let path = try temporaryFile("from-a-secret\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try resolve([], environment: ["MINER_INDEX_HTTP_TOKEN_FILE": path]).httpToken
        #expect(fromFile?.isPresented(in: "Bearer from-a-secret") == true, "the trailing newline is not part of it")
        #expect(try resolve(["--http-token-file", path]).httpToken?.isPresented(in: "Bearer from-a-secret") == true)
    }

    @Test func anAmbiguousEmptyOrUnreadableTokenIsRefusedWithoutShowingIt() throws {
        let path = try temporaryFile("file-secret")
        let blank = try temporaryFile(" \n\t\n")
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: blank)
        }
        let cases: [([String], [String: String], String)] = [
            (["--http-token", "flag-secret", "--http-token-file", path], [:], "both set"),
            ([], ["MINER_INDEX_HTTP_TOKEN": "env-secret", "MINER_INDEX_HTTP_TOKEN_FILE": path], "both set"),
            (["--http-token", ""], [:], "is empty"),
            (["--http-token-file", blank], [:], "holds no token"),
            (["--http-token-file", "/nonexistent/token"], [:], "cannot read"),
        ]
        for (arguments, environment, mention) in cases {
            #expect {
                try resolve(arguments, environment: environment)
            } throws: { error in
                let text = "\(error)"
                return text.contains(mention) && !text.contains("secret")
            }
        }
    }

    @Test func theTokenIsComparedWhole() throws {
        let token = try #require(HTTPToken("abc123"))
        #expect(token.isPresented(in: "Bearer abc123"))
        #expect(token.isPresented(in: "bearer abc123"))
        for refused in [
            nil, "", "Bearer", "Bearer ", "Bearer abc12", "Bearer abc1234", "Bearer abc124", "Bearer  abc123",
            "abc123", "Basic abc123", "Bearer ABC123",
        ] {
            #expect(!token.isPresented(in: refused), "\(refused ?? "nil")")
        }
        #expect(HTTPToken("") == nil)
    }

    @Test func noDescriptionOfTheConfigurationShowsTheToken() throws {
        let configuration = try resolve(["--http-token", "do-not-print-me"])
        #expect(configuration.summary["http_token"] == "set")
        for text in [
            "\(configuration.summary)", String(describing: configuration), String(reflecting: configuration),
            "\(configuration.httpToken as Any)", String(reflecting: configuration.httpToken),
        ] {
            #expect(!text.contains("do-not-print-me"), "\(text)")
        }
        #expect(try resolve([]).summary["http_token"] == "none")
    }
}

@Suite struct DurationTextTests {
    @Test func parsesOperatorDurations() {
        #expect(DurationText.parse("500ms") == .milliseconds(500))
        #expect(DurationText.parse("1s") == .seconds(1))
        #expect(DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(DurationText.parse("2m") == .seconds(120))
        #expect(DurationText.parse("1h") == .seconds(3600))
        #expect(DurationText.parse("3") == .seconds(3))
        #expect(DurationText.parse("-1s") == nil)
        #expect(DurationText.parse("fast") == nil)
        #expect(DurationText.parse("1e30h") == nil, "beyond Int64 milliseconds")
        #expect(DurationText.parse("1e16s") == nil)
        #expect(DurationText.format(.seconds(60)) == "1m")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
    }
}

@Suite struct TopologyTests {
    @Test func theInputQueueDeadLettersAndBindsBothKinds() throws {
        var configuration = ServiceConfiguration(amqp: try ConnectionSettings(url: "amqp://localhost"))
        configuration.queueType = .quorum
        configuration.singleActiveConsumer = true
        let input = ServiceTopology(configuration: configuration).input
        let queue = try #require(input.queues.first { $0.name == "miner_index.operational_logs" })
        #expect(queue.durable)
        #expect(queue.arguments["x-queue-type"] == "quorum")
        #expect(queue.arguments["x-dead-letter-exchange"] == "miner_index.dead_letter")
        #expect(queue.arguments["x-single-active-consumer"] == true)
        #expect(
            Set(input.bindings.filter { $0.exchange == "miner_operational_logs" }.map(\.routingKey))
                == ["asic_miner.*", "cpu_gpu_miner.*"])
        #expect(input.exchanges.contains { $0.name == "miner_operational_logs" && $0.kind == .topic && $0.durable })
        let output = ServiceTopology(configuration: configuration).output
        #expect(
            Set(output.exchanges.filter { $0.kind == .fanout }.map(\.name)).isSuperset(
                of: configuration.outputExchanges.all))
    }
}
