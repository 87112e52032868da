import AMQP
import ArgumentParser
import Foundation
import Logging
import MinerIndex
import MinerIndexService

/// Helpers for bench/: a bare consumer that only acknowledges (the physical limit miner-index is compared with),
/// the service's input topology for pre-filling, and queue-depth polling over AMQP (a passive declare costs the
/// broker next to nothing, unlike starting `rabbitmqctl`, which is an Erlang VM of its own).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amqp-drain-bench",
        abstract: "Benchmark helpers built on the project's AMQP layer.",
        subcommands: [DeclareInput.self, Purge.self, Drain.self, WatchDrain.self, SampleDepth.self])
}

struct BrokerOptions: ParsableArguments {
    @Option(help: "Broker URL.")
    var amqpUrl = "amqp://guest:guest@127.0.0.1:5672/"

    @Option(help: "Input queue.")
    var queue = "miner_index.operational_logs"

    func settings(name: String) throws -> ConnectionSettings {
        var settings = try ConnectionSettings(url: amqpUrl)
        settings.connectionName = name
        return settings
    }
}

/// Declares the service's input side exactly as miner-index does, so the service's own declaration later agrees.
struct DeclareInput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "declare-input")
    @OptionGroup var broker: BrokerOptions
    @Option var exchange = "miner_operational_logs"
    @Option var deadLetterExchange = "miner_index.dead_letter"
    @Option var deadLetterQueue = "miner_index.dead_letter"
    @Option(help: "classic or quorum, as miner-index's --queue-type.") var queueType = "classic"

    func run() async throws {
        var configuration = ServiceConfiguration(amqp: try broker.settings(name: "bench declare"))
        guard let queueType = ServiceConfiguration.QueueType(rawValue: queueType) else {
            throw ValidationError("--queue-type must be classic or quorum")
        }
        configuration.queueType = queueType
        configuration.queue = broker.queue
        configuration.inputExchange = exchange
        configuration.deadLetterExchange = deadLetterExchange
        configuration.deadLetterQueue = deadLetterQueue
        let topology = ServiceTopology(configuration: configuration).input
        try await AMQPAdmin.withChannel(configuration.amqp) { channel throws(AMQPError) in
            try channel.declare(topology)
        }
    }
}

struct Purge: AsyncParsableCommand {
    @OptionGroup var broker: BrokerOptions
    @Option(help: "More queues to purge.") var also: [String] = []

    func run() async throws {
        let queues = [broker.queue] + also
        try await AMQPAdmin.withChannel(try broker.settings(name: "bench purge")) { channel throws(AMQPError) in
            for queue in queues { try channel.purgeQueue(queue) }
        }
    }
}

/// The bare consumer: the same prefetch as miner-index, one multiple-ack per batch, no decoding at all.
struct Drain: AsyncParsableCommand {
    @OptionGroup var broker: BrokerOptions
    @Option(help: "Stop after this many messages.") var expect: Int
    @Option var prefetch: UInt16 = 500

    func run() async throws {
        var logger = Logger(label: "amqp-drain-bench")
        logger.logLevel = .warning
        let consumer = AMQPConsumer(
            settings: try broker.settings(name: "bench bare consumer"),
            configuration: .init(queue: broker.queue, prefetch: prefetch, consumerTag: "bare-consumer"), logger: logger)
        consumer.start()
        try await consumer.waitUntilConsuming(timeout: .seconds(10))
        var received = 0
        var firstAt: ContinuousClock.Instant?
        var iterator = consumer.deliveries.makeAsyncIterator()
        while received < expect, let batch = await iterator.nextBatch() {
            if firstAt == nil { firstAt = .now }
            received += batch.count
            if let last = batch.last { consumer.ack(last.tag, multiple: true) }
        }
        let seconds = firstAt.map { (ContinuousClock.now - $0).secondsValue } ?? 0
        await consumer.close()
        print(#"{"messages": \#(received), "seconds": \#(seconds), "cpu_seconds": \#(ProcessUsage.ownCPUSeconds())}"#)
    }
}

/// Times a drain from outside, the same way for every contender: from the first poll that sees the queue shrink
/// to the first that sees it empty. Exits at that moment, so the script can read the contender's CPU time then.
struct WatchDrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch-drain")
    @OptionGroup var broker: BrokerOptions
    @Option(help: "Messages in the queue at the start.") var expect: Int
    @Option(help: "Give up after this many seconds.") var timeout = 300.0

    func run() async throws {
        let queue = broker.queue
        let expect = expect
        let timeout = timeout
        let result = try await AMQPAdmin.withChannel(try broker.settings(name: "bench watch")) {
            channel throws(AMQPError) -> String in
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(timeout)
            var startedAt: ContinuousClock.Instant?
            var announced = false
            while clock.now < deadline {
                let depth = Int(try channel.inspectQueue(queue).messageCount)
                let now = clock.now
                if !announced {
                    // The script starts the contender only after this line, so the first decrease is never missed.
                    FileHandle.standardError.write(Data("watching \(queue): \(depth) messages\n".utf8))
                    announced = true
                }
                if startedAt == nil, depth < expect {
                    startedAt = now
                }
                if let startedAt, depth == 0 {
                    let seconds = (now - startedAt).secondsValue
                    return
                        #"{"messages": \#(expect), "seconds": \#(seconds), "rate": \#(Double(expect) / max(seconds, 1e-9))}"#
                }
                usleep(5_000)
            }
            return #"{"error": "queue \#(queue) not drained within \#(timeout) s"}"#
        }
        print(result)
    }
}

/// Queue depth once per interval, as `seconds depth` lines, for the sustained-load benchmark.
struct SampleDepth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sample-depth")
    @OptionGroup var broker: BrokerOptions
    @Option var every = 1.0
    @Option(name: .customLong("for")) var total = 60.0
    @Option(help: "Also sample this process's RSS.") var pid: Int32?

    func run() async throws {
        let queue = broker.queue
        let every = every, total = total, pid = pid
        try await AMQPAdmin.withChannel(try broker.settings(name: "bench depth")) { channel throws(AMQPError) in
            let clock = ContinuousClock()
            let start = clock.now
            var next = start
            while clock.now - start < .seconds(total) {
                let state = try channel.inspectQueue(queue)
                let elapsed = (clock.now - start).secondsValue
                var line = String(format: "%.1f %d", elapsed, Int(state.messageCount))
                if let pid, let rss = ProcessUsage.residentBytes(of: pid) { line += " \(rss)" }
                // Unbuffered, so a script reading the pipe sees each sample as it is taken.
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                next = next + .seconds(every)
                let wait = next - clock.now
                if wait > .zero { usleep(UInt32(wait.secondsValue * 1e6)) }
            }
        }
    }
}
