/// Where and how to connect. Built from an `amqp://` or `amqps://` URL; the password is kept out of every
/// description, so a settings value can be logged as it is.
public struct ConnectionSettings: Sendable, Hashable, CustomStringConvertible {
    public struct TLS: Sendable, Hashable {
        /// PEM file of the certificate authorities to trust; `nil` uses the system's default store (OpenSSL's,
        /// which `SSL_CERT_FILE` and `SSL_CERT_DIR` override).
        public var caCertificatePath: String?
        public var clientCertificatePath: String?
        public var clientKeyPath: String?
        /// Verify the broker's certificate chain during the handshake.
        public var verifyPeer: Bool
        /// With `verifyPeer`, also check that the certificate names the host of the URL: a DNS name against the
        /// certificate's DNS names, an IP address against its IP addresses.
        public var verifyHostname: Bool

        public init(
            caCertificatePath: String? = nil,
            clientCertificatePath: String? = nil,
            clientKeyPath: String? = nil,
            verifyPeer: Bool = true,
            verifyHostname: Bool = true
        ) {
            self.caCertificatePath = caCertificatePath
            self.clientCertificatePath = clientCertificatePath
            self.clientKeyPath = clientKeyPath
            self.verifyPeer = verifyPeer
            self.verifyHostname = verifyHostname
        }
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    public var tls: TLS?
    /// Negotiated with the broker; zero turns heartbeats off.
    public var heartbeat: Duration
    public var connectTimeout: Duration
    /// Bounds every synchronous request such as a declaration, so a stalled broker cannot hang a client thread.
    public var requestTimeout: Duration
    /// Shown in the broker's management UI.
    public var connectionName: String

    public init(
        host: String = "127.0.0.1",
        port: Int? = nil,
        user: String = "guest",
        password: String = "guest",
        virtualHost: String = "/",
        tls: TLS? = nil,
        heartbeat: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10),
        requestTimeout: Duration = .seconds(30),
        connectionName: String = "miner-index"
    ) {
        self.host = host
        self.port = port ?? (tls == nil ? 5672 : 5671)
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
        self.tls = tls
        self.heartbeat = heartbeat
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.connectionName = connectionName
    }

    /// Parses `amqp://user:pass@host:port/vhost` or `amqps://…`, following RabbitMQ's URI spec: user, password and
    /// vhost are percent-decoded, a missing or bare `/` path is the default vhost `/`, and `%2F` spells a slash.
    /// Query options: `heartbeat` (seconds), `connection_timeout` (milliseconds), `cacertfile`, `certfile`,
    /// `keyfile`, `verify` (`verify_peer` or `verify_none`), `verify_hostname` (`true`/`false`), `name`.
    /// `defaultHeartbeat` applies when the URL names no heartbeat.
    public init(url: String, defaultHeartbeat: Duration = .seconds(30)) throws(AMQPError) {
        let scheme: String
        var rest: Substring
        if url.hasPrefix("amqp://") {
            scheme = "amqp"
            rest = url.dropFirst("amqp://".count)
        } else if url.hasPrefix("amqps://") {
            scheme = "amqps"
            rest = url.dropFirst("amqps://".count)
        } else {
            throw .invalidSettings("URL must start with amqp:// or amqps:// (got \(Self.redacting(url)))")
        }

        var query: Substring = ""
        if let questionMark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: questionMark)...]
            rest = rest[..<questionMark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }

        var user = "guest"
        var password = "guest"
        if let userInfo {
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = try Self.percentDecoded(parts[0], field: "user")
            password = parts.count > 1 ? try Self.percentDecoded(parts[1], field: "password") : ""
        }

        var host = String(rest)
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw .invalidSettings("unterminated IPv6 address in \(Self.redacting(url))")
            }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else {
                    throw .invalidSettings("invalid port in \(Self.redacting(url))")
                }
                port = parsed
            } else if !after.isEmpty {
                throw .invalidSettings("unexpected text after the IPv6 address in \(Self.redacting(url))")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let parsed = Int(host[host.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw .invalidSettings("invalid port in \(Self.redacting(url))")
            }
            port = parsed
            host = String(host[..<colon])
        }
        if host.isEmpty { host = "localhost" }
        guard !host.contains(where: { $0 == " " || $0 == "@" || $0 == "/" }) else {
            throw .invalidSettings("invalid host in \(Self.redacting(url))")
        }

        let virtualHost = path.isEmpty ? "/" : try Self.percentDecoded(path, field: "vhost")

        self.init(
            host: host,
            port: port,
            user: user,
            password: password,
            virtualHost: virtualHost,
            tls: scheme == "amqps" ? TLS() : nil,
            heartbeat: defaultHeartbeat
        )

        for pair in query.split(separator: "&") where !pair.isEmpty {
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(keyValue[0])
            let value = keyValue.count > 1 ? try Self.percentDecoded(keyValue[1], field: key) : ""
            try apply(option: key, value: value, url: url)
        }
        if let tls, (tls.clientCertificatePath == nil) != (tls.clientKeyPath == nil) {
            throw .invalidSettings("certfile and keyfile go together: give both or neither")
        }
    }

    private mutating func apply(option key: String, value: String, url: String) throws(AMQPError) {
        switch key {
        case "heartbeat":
            guard let seconds = Int(value), seconds >= 0 else {
                throw .invalidSettings("heartbeat must be a whole number of seconds (got '\(value)')")
            }
            heartbeat = .seconds(seconds)
        case "connection_timeout":
            guard let milliseconds = Int(value), milliseconds > 0 else {
                throw .invalidSettings("connection_timeout must be a positive number of milliseconds (got '\(value)')")
            }
            connectTimeout = .milliseconds(milliseconds)
        case "name", "connection_name":
            connectionName = value
        case "cacertfile", "certfile", "keyfile", "verify", "verify_hostname":
            guard var tls else {
                throw .invalidSettings("\(key) needs an amqps:// URL")
            }
            switch key {
            case "cacertfile": tls.caCertificatePath = value
            case "certfile": tls.clientCertificatePath = value
            case "keyfile": tls.clientKeyPath = value
            case "verify":
                guard value == "verify_peer" || value == "verify_none" else {
                    throw .invalidSettings("verify must be verify_peer or verify_none (got '\(value)')")
                }
                tls.verifyPeer = value == "verify_peer"
                if !tls.verifyPeer { tls.verifyHostname = false }
            default:
                guard let flag = Bool(value) else {
                    throw .invalidSettings("verify_hostname must be true or false (got '\(value)')")
                }
                tls.verifyHostname = flag
            }
            self.tls = tls
        default:
            throw .invalidSettings("unknown URL option '\(key)' in \(Self.redacting(url))")
        }
    }

    /// The URL with its password replaced, for logs and error messages.
    public var redactedURL: String {
        let scheme = tls == nil ? "amqp" : "amqps"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let vhost = virtualHost == "/" ? "" : Self.percentEncoded(virtualHost)
        return "\(scheme)://\(Self.percentEncoded(user)):***@\(hostPart):\(port)/\(vhost)"
    }

    public var description: String { redactedURL }

    /// Best effort for text that failed to parse: hide whatever sits between the user and the host.
    public static func redacting(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url.lastIndex(of: "@"), at > schemeEnd.upperBound else {
            return url
        }
        let userInfo = url[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    private static func percentDecoded(_ text: Substring, field: String) throws(AMQPError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidSettings("bad percent-encoding in the \(field) part of the URL")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidSettings("the \(field) part of the URL is not UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }
}
