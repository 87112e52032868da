import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real `miner-index` executable run as a child process, for tests that kill, stop or restart it. Its log goes
/// to a file the test can read; its HTTP port is chosen by the process (port 0) and read from that log.
public final class ServiceProcess: Sendable {
    public let arguments: [String]
    public let logPath: String
    private let process: Process

    /// The `miner-index` built next to the test bundle (`swift build --build-tests` builds it).
    public static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("miner-index")
    }

    public init(arguments: [String], environment: [String: String] = [:], logPath: String) throws {
        self.arguments = arguments
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments + ["--http-port", "0", "--log-level", "info"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end and returns its exit status (or the signal that ended it, negated).
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        guard await eventually(timeout: timeout, { !process.isRunning }) else { return nil }
        return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
    }

    /// The HTTP port, once the process has logged it (the last one, if it was restarted into the same log).
    public func httpPort(timeout: Duration = .seconds(30)) async -> Int? {
        var port: Int?
        _ = await eventually(timeout: timeout) {
            port =
                log.components(separatedBy: "\n").reversed().lazy.compactMap { line -> Int? in
                    guard line.contains("HTTP listening"), let range = line.range(of: "address=127.0.0.1:") else {
                        return nil
                    }
                    return Int(line[range.upperBound...].prefix { $0.isNumber })
                }.first
            return port != nil
        }
        return port
    }

    public func get(_ path: String) async throws -> (status: Int, body: String) {
        guard let port = await httpPort() else { throw ServiceProcessError.noHTTPPort(log) }
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw ServiceProcessError.badPath(path) }
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
    }

    /// Whether `/readyz` answers 200 within `timeout`.
    public func becomesReady(timeout: Duration = .seconds(30)) async -> Bool {
        await eventually(timeout: timeout) { (try? await self.get("/readyz").status) == 200 }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

public enum ServiceProcessError: Error, CustomStringConvertible {
    case noHTTPPort(String)
    case badPath(String)

    public var description: String {
        switch self {
        case .noHTTPPort(let log): "the service never logged its HTTP port; its log:\n\(log)"
        case .badPath(let path): "not a path: \(path)"
        }
    }
}
