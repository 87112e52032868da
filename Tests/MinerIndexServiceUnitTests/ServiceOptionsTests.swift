import AMQP
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
        #expect(configuration.outputExchanges.all == [
            "asic_miner_index", "asic_miner_aggregated_index", "cpu_gpu_miner_index", "cpu_gpu_miner_aggregated_index",
        ])
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
            ["--asic-index-exchange", "farm.asic"], environment: ["MINER_INDEX_CPU_GPU_AGGREGATED_EXCHANGE": "farm.rigs.agg"])
        #expect(renamed.outputExchanges.asicIndex == "farm.asic")
        #expect(renamed.outputExchanges.cpuGpuAggregatedIndex == "farm.rigs.agg")
        #expect(renamed.outputExchanges.asicAggregatedIndex == "asic_miner_aggregated_index")

        let flagsWin = try resolve(["--prefetch", "50", "--broadcast-interval", "2s", "--stale-after", "30s"],
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
        #expect(Set(input.bindings.filter { $0.exchange == "miner_operational_logs" }.map(\.routingKey))
            == ["asic_miner.*", "cpu_gpu_miner.*"])
        #expect(input.exchanges.contains { $0.name == "miner_operational_logs" && $0.kind == .topic && $0.durable })
        let output = ServiceTopology(configuration: configuration).output
        #expect(Set(output.exchanges.filter { $0.kind == .fanout }.map(\.name)).isSuperset(of: configuration.outputExchanges.all))
    }
}
