import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// TLS listeners on the test broker, for one test: a throwaway CA and certificates made with the `openssl` command
/// in a temporary directory, and three listeners started on free loopback ports through `rabbitmqctl eval` (no
/// broker restart needed). `withListeners` always stops them and deletes the files.
///
/// - `verified`: the broker's certificate names `localhost` and `127.0.0.1`; no client certificate asked.
/// - `clientCertificateRequired`: the same certificate; the broker verifies the client's and refuses to go on
///   without one (`verify_peer`, `fail_if_no_peer_cert`).
/// - `misnamed`: a certificate from the same CA for `broker.miner-index.invalid` only.
public struct TLSTestListeners: Sendable {
    public enum Listener: CaseIterable, Sendable {
        case verified, clientCertificateRequired, misnamed
    }

    public let directory: String
    public let ports: [Listener: Int]

    public var caFile: String { directory + "/ca.pem" }
    /// A CA that signed nothing the broker presents.
    public var otherCAFile: String { directory + "/other-ca.pem" }
    public var clientCertificateFile: String { directory + "/client.pem" }
    public var clientKeyFile: String { directory + "/client.key" }

    /// An `amqps://` URL for the listener, with the guest account of `TestBroker.url`.
    public func url(
        _ listener: Listener, host: String = "localhost", caFile: String? = nil, clientCertificate: Bool = false,
        extra: String = ""
    ) -> String {
        var query = ["cacertfile=\(caFile ?? self.caFile)"]
        if clientCertificate { query += ["certfile=\(clientCertificateFile)", "keyfile=\(clientKeyFile)"] }
        if !extra.isEmpty { query.append(extra) }
        let port = ports[listener] ?? 0
        return "amqps://guest:guest@\(host):\(port)/?" + query.joined(separator: "&")
    }

    /// Runs `body` with the listeners up; stops them and removes the certificates afterwards, whatever happens.
    public static func withListeners<Result>(_ body: (TLSTestListeners) async throws -> Result) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("miner-index-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try makeCertificates(in: directory)

        var ports: [Listener: Int] = [:]
        for (listener, port) in zip(Listener.allCases, try freeLoopbackPorts(Listener.allCases.count)) {
            ports[listener] = port
        }
        let listeners = TLSTestListeners(directory: directory, ports: ports)
        try listeners.start()
        do {
            let result = try await body(listeners)
            try listeners.stop()
            return result
        } catch {
            try? listeners.stop()
            throw error
        }
    }

    private func start() throws {
        func options(certificate: String, clientCertificateRequired: Bool = false) -> String {
            let verification =
                clientCertificateRequired
                ? "{verify, verify_peer}, {fail_if_no_peer_cert, true}" : "{verify, verify_none}"
            return "[{cacertfile, \"\(caFile)\"}, {certfile, \"\(directory)/\(certificate).pem\"}, "
                + "{keyfile, \"\(directory)/\(certificate).key\"}, \(verification)]"
        }
        let starts = [
            (Listener.verified, options(certificate: "server")),
            (.clientCertificateRequired, options(certificate: "server", clientCertificateRequired: true)),
            (.misnamed, options(certificate: "misnamed")),
        ].map { listener, options in
            "ok = rabbit_networking:start_ssl_listener({\"127.0.0.1\", \(ports[listener] ?? 0)}, \(options), 1)"
        }
        try TestBroker.rabbitmqctl("eval", starts.joined(separator: ",\n") + ", ok.")
    }

    private func stop() throws {
        let stops = Listener.allCases.map { "rabbit_networking:stop_tcp_listener({\"127.0.0.1\", \(ports[$0] ?? 0)})" }
        try TestBroker.rabbitmqctl("eval", stops.joined(separator: ",\n") + ", ok.")
    }

    /// P-256 keys (quick to make); the broker runs as another user, so every file is world-readable.
    private static func makeCertificates(in directory: String) throws {
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (name, subject) in [("ca", "miner-index test CA"), ("other-ca", "unrelated test CA")] {
            try openssl(
                ["req", "-x509"] + key + [
                    "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(subject)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ], in: directory)
        }
        let leaves = [
            ("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
            (
                "misnamed", "broker.miner-index.invalid",
                "subjectAltName=DNS:broker.miner-index.invalid\nextendedKeyUsage=serverAuth\n"
            ),
            ("client", "miner-index-tests", "extendedKeyUsage=clientAuth\n"),
        ]
        for (name, commonName, extensions) in leaves {
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
            try openssl(
                ["req"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(commonName)"],
                in: directory)
            try openssl(
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext",
                ], in: directory)
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: "\(directory)/\(file)")
        }
    }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure(
                command: "openssl \(arguments.joined(separator: " "))", status: process.terminationStatus,
                output: String(decoding: data, as: UTF8.self))
        }
    }

    public struct CommandFailure: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public let output: String
        public var description: String { "\(command) exited \(status): \(output)" }
    }

    /// Ports the kernel hands out for 127.0.0.1, all held open together so they differ, then released for the
    /// broker to take.
    private static func freeLoopbackPorts(_ count: Int) throws -> [Int] {
        var descriptors: [Int32] = []
        defer { for descriptor in descriptors { close(descriptor) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw CommandFailure(command: "socket()", status: errno, output: "") }
            descriptors.append(descriptor)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
                }
            }
            guard bound else { throw CommandFailure(command: "bind(127.0.0.1:0)", status: errno, output: "") }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
