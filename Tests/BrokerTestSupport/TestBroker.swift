import AMQP
import Foundation
import Logging

/// The real RabbitMQ that broker-backed tests run against (`AMQP_URL`, default the local guest account), and the
/// `rabbitmqctl` commands they use to break it.
public enum TestBroker {
    public static let url = ProcessInfo.processInfo.environment["AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/"

    public static var settings: ConnectionSettings {
        get throws {
            var settings = try ConnectionSettings(url: url)
            settings.connectTimeout = .seconds(5)
            settings.heartbeat = .seconds(10)
            settings.connectionName = "miner-index-tests"
            return settings
        }
    }

    /// Reconnect quickly in tests; production keeps the default 0.5 s … 30 s.
    public static let fastBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))

    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
    }

    public static var logger: Logger {
        var logger = Logger(label: "tests")
        logger.logLevel =
            ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }

    /// Runs `rabbitmqctl` with the arguments and returns its output; throws if it exits non-zero.
    @discardableResult
    public static func rabbitmqctl(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/rabbitmqctl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw RabbitmqctlFailure(arguments: arguments, status: process.terminationStatus, output: text)
        }
        return text
    }

    public struct RabbitmqctlFailure: Error, CustomStringConvertible {
        public let arguments: [String]
        public let status: Int32
        public let output: String
        public var description: String { "rabbitmqctl \(arguments.joined(separator: " ")) exited \(status): \(output)" }
    }

    /// Ready and unacknowledged messages of a queue in the default vhost, as the broker counts them now (a passive
    /// declare reports only the ready ones).
    public static func messageCounts(queue: String) throws -> (ready: Int, unacknowledged: Int)? {
        let output = try rabbitmqctl(
            "list_queues", "-q", "--no-table-headers", "name", "messages_ready",
            "messages_unacknowledged")
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 3, fields[0] == queue, let ready = Int(fields[1]), let unacked = Int(fields[2])
            else { continue }
            return (ready, unacked)
        }
        return nil
    }

    /// Frames the broker has received from and sent to the connection whose client-provided name is `name`.
    public static func frameCounts(connectionNamed name: String) throws -> (received: Int, sent: Int)? {
        let output = try rabbitmqctl(
            "list_connections", "-q", "--formatter", "json", "client_properties", "recv_cnt",
            "send_cnt")
        guard let start = output.firstIndex(of: "["),
            let connections = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]]
        else { return nil }
        for connection in connections where "\(connection["client_properties"] ?? "")".contains(name) {
            guard let received = connection["recv_cnt"] as? Int, let sent = connection["send_cnt"] as? Int else {
                continue
            }
            return (received, sent)
        }
        return nil
    }

    /// Stops the RabbitMQ application (the Erlang node stays up) and starts it again after `downtime`.
    public static func restartBrokerApp(downtime: Duration = .seconds(1)) async throws {
        try rabbitmqctl("stop_app")
        try await Task.sleep(for: downtime)
        try rabbitmqctl("start_app")
        try rabbitmqctl("await_startup")
    }
}

/// Polls `condition` until it holds or `timeout` passes. Used to wait for asynchronous effects without fixed sleeps.
public func eventually(
    timeout: Duration = .seconds(20),
    interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
