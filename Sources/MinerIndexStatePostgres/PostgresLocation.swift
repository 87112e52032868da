import Foundation
import Logging
import MinerIndexState
import PostgresNIO

/// A `postgres://` or `postgresql://` URL as given to `--state`: where the shared store is and how to reach it.
///
/// `postgres://user:password@host:port/database?sslmode=disable|require|verify-full&sslrootcert=/path/ca.pem`.
/// The password never leaves this type except into the connection itself: `redacted` is what logs show.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let username: String
    let password: String?
    public let database: String
    public let sslMode: String
    let rootCertificatePath: String?
    /// `?schema=NAME`: the tables live in this schema (created if missing), so that one database can hold the
    /// state of several deployments; each deployment then also has a leader lock of its own.
    public let schema: String?

    public static func isPostgresURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    public init(url text: String) throws(StateStoreError) {
        guard Self.isPostgresURL(text), let components = URLComponents(string: text),
            let host = components.host, !host.isEmpty
        else {
            throw StateStoreError(.unavailable, "not a PostgreSQL URL: \(Self.redact(text))")
        }
        self.host = host
        port = components.port ?? 5432
        username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? username : path
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
        sslMode = query["sslmode"] ?? "prefer"
        rootCertificatePath = query["sslrootcert"]
        schema = query["schema"].flatMap { $0.isEmpty ? nil : $0 }
        if let schema, !schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) || schema.utf8.count > 63 {
            throw StateStoreError(
                .unavailable, "schema '\(schema)' must be letters, digits and underscores, at most 63 bytes")
        }
        guard ["disable", "prefer", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw StateStoreError(
                .unavailable, "sslmode '\(sslMode)' is not disable, prefer, require, verify-ca or verify-full")
        }
    }

    /// The advisory-lock key of this deployment's leader: fixed for the default schema, derived from the schema
    /// name otherwise (FNV-1a), so that deployments in separate schemas elect their leaders independently.
    public var leaderLockKey: Int64 {
        let base: Int64 = 0x6D69_6E65_722D_6978
        guard let schema else { return base }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in schema.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return base ^ Int64(bitPattern: hash)
    }

    /// The URL with its password replaced by `***`, for logs.
    public var redacted: String {
        let options = (sslMode == "prefer" ? [] : ["sslmode=\(sslMode)"]) + (schema.map { ["schema=\($0)"] } ?? [])
        return "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
            + (options.isEmpty ? "" : "?" + options.joined(separator: "&"))
    }

    public var description: String { redacted }

    static func redact(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://***"
    }

    /// Connection settings, with the session parameters that bound how long a lost peer goes unnoticed: TCP
    /// keepalives the server sends (5 s idle, then every second, 5 probes: about 10 s), and an idle-session timeout
    /// for the leader's lock session, which a stopped process stops pinging.
    func configuration(applicationName: String, idleSessionTimeout: Duration? = nil) throws(StateStoreError)
        -> PostgresConnection.Configuration
    {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: try tls())
        configuration.options.connectTimeout = .seconds(5)
        var parameters = [
            ("application_name", applicationName), ("tcp_keepalives_idle", "5"),
            ("tcp_keepalives_interval", "1"), ("tcp_keepalives_count", "5"),
        ]
        if let schema { parameters.append(("search_path", schema)) }
        if let idleSessionTimeout {
            let milliseconds =
                idleSessionTimeout.components.seconds * 1000
                + idleSessionTimeout.components.attoseconds / 1_000_000_000_000_000
            parameters.append(("idle_session_timeout", "\(milliseconds)"))
        }
        configuration.options.additionalStartupParameters = parameters
        return configuration
    }

    func clientConfiguration(applicationName: String) throws(StateStoreError) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: try clientTLS())
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.additionalStartupParameters =
            [
                ("application_name", applicationName), ("tcp_keepalives_idle", "5"), ("tcp_keepalives_interval", "1"),
                ("tcp_keepalives_count", "5"),
            ] + (schema.map { [("search_path", $0)] } ?? [])
        // Writes are serial (one transaction at a time, in order), so one connection is all the writer needs; a
        // second serves the standby's reads and the start-up load.
        configuration.options.maximumConnections = 2
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(5))
        return configuration
    }

    private func tlsConfiguration() throws(StateStoreError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case "verify-full": tls.certificateVerification = .fullVerification
        case "verify-ca": tls.certificateVerification = .noHostnameVerification
        default: tls.certificateVerification = .none
        }
        if let rootCertificatePath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificatePath))
            } catch {
                throw StateStoreError(.unavailable, "cannot read sslrootcert \(rootCertificatePath): \(error)")
            }
        }
        return tls
    }

    private func tls() throws(StateStoreError) -> PostgresConnection.Configuration.TLS {
        guard sslMode != "disable" else { return .disable }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: try tlsConfiguration())
        } catch let error as StateStoreError {
            throw error
        } catch {
            throw StateStoreError(.unavailable, "cannot set up TLS for \(redacted): \(error)")
        }
        return sslMode == "prefer" ? .prefer(context) : .require(context)
    }

    private func clientTLS() throws(StateStoreError) -> PostgresClient.Configuration.TLS {
        switch sslMode {
        case "disable": return .disable
        case "prefer": return .prefer(try tlsConfiguration())
        default: return .require(try tlsConfiguration())
        }
    }
}

extension StateStoreError {
    /// A PostgreSQL error as the store reports it: the server's message and SQLSTATE when there is one, else what
    /// went wrong with the connection.
    static func from(_ error: any Error, doing action: String) -> StateStoreError {
        if let error = error as? StateStoreError { return error }
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError {
                return from(inner, doing: action)
            }
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState] ?? "?"
                return StateStoreError(.unavailable, "\(action): \(message) (SQLSTATE \(state))")
            }
            return StateStoreError(.unavailable, "\(action): \(error.code.description)")
        }
        return StateStoreError(.unavailable, "\(action): \(String(describing: error))")
    }
}
