import AMQP
import Testing

@Suite struct ConnectionSettingsTests {
    @Test func parsesAFullURL() throws {
        let settings = try ConnectionSettings(url: "amqp://miner:s3cret@broker.local:5673/farm")
        #expect(settings.host == "broker.local")
        #expect(settings.port == 5673)
        #expect(settings.user == "miner")
        #expect(settings.password == "s3cret")
        #expect(settings.virtualHost == "farm")
        #expect(settings.tls == nil)
        #expect(settings.heartbeat == .seconds(30))
    }

    @Test func defaultsFollowRabbitMQsURISpec() throws {
        let bare = try ConnectionSettings(url: "amqp://127.0.0.1")
        #expect(bare.port == 5672)
        #expect(bare.user == "guest")
        #expect(bare.virtualHost == "/")
        let trailingSlash = try ConnectionSettings(url: "amqp://guest:guest@127.0.0.1:5672/")
        #expect(trailingSlash.virtualHost == "/")
        let encodedSlash = try ConnectionSettings(url: "amqp://u:p@h/%2Ffarm")
        #expect(encodedSlash.virtualHost == "/farm")
        let encodedPassword = try ConnectionSettings(url: "amqp://u:p%40ss%3Aword@h")
        #expect(encodedPassword.password == "p@ss:word")
        let ipv6 = try ConnectionSettings(url: "amqp://u:p@[::1]:5673/")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 5673)
    }

    @Test func amqpsTurnsOnVerifiedTLS() throws {
        let settings = try ConnectionSettings(
            url: "amqps://u:p@broker:5671/?cacertfile=/etc/ca.pem&certfile=/etc/c.pem&keyfile=/etc/k.pem&heartbeat=15")
        let tls = try #require(settings.tls)
        #expect(tls.verifyPeer)
        #expect(tls.verifyHostname)
        #expect(tls.caCertificatePath == "/etc/ca.pem")
        #expect(tls.clientCertificatePath == "/etc/c.pem")
        #expect(tls.clientKeyPath == "/etc/k.pem")
        #expect(settings.heartbeat == .seconds(15))
        let defaultPort = try ConnectionSettings(url: "amqps://broker")
        #expect(defaultPort.port == 5671)
        let unverified = try ConnectionSettings(url: "amqps://broker?verify=verify_none")
        #expect(unverified.tls?.verifyPeer == false)
        #expect(unverified.tls?.verifyHostname == false)
    }

    @Test(arguments: [
        "http://broker",
        "broker:5672",
        "amqp://u:p@broker:notaport/",
        "amqp://u:p@broker:70000/",
        "amqp://u:p@broker/%zz",
        "amqp://u:p@broker/?heartbeat=soon",
        "amqp://u:p@broker/?cacertfile=/etc/ca.pem",
        "amqp://u:p@broker/?colour=blue",
        "amqps://u:p@broker/?certfile=/etc/c.pem",
        "amqps://u:p@broker/?keyfile=/etc/k.pem",
    ])
    func rejectsBadURLsWithAClearError(url: String) {
        #expect {
            try ConnectionSettings(url: url)
        } throws: { error in
            guard let error = error as? AMQPError, case .invalidSettings(let reason) = error else { return false }
            return !reason.isEmpty
        }
    }

    @Test func thePasswordNeverAppearsInDescriptions() throws {
        let settings = try ConnectionSettings(url: "amqp://miner:hunter2@broker:5672/farm")
        #expect(!settings.description.contains("hunter2"))
        #expect(!"\(settings)".contains("hunter2"))
        #expect(settings.redactedURL == "amqp://miner:***@broker:5672/farm")

        #expect {
            try ConnectionSettings(url: "amqp://miner:hunter2@broker:99999/")
        } throws: { error in
            !"\(error)".contains("hunter2")
        }
        #expect(ConnectionSettings.redacting("amqp://miner:hunter2@broker/") == "amqp://miner:***@broker/")
    }
}

@Suite struct BackoffTests {
    @Test func growsExponentiallyFromHalfASecondToThirtySeconds() {
        let backoff = Backoff()
        #expect(backoff.delay(afterFailures: 0, random: 0.5) == .milliseconds(500))
        #expect(backoff.delay(afterFailures: 1, random: 0.5) == .seconds(1))
        #expect(backoff.delay(afterFailures: 3, random: 0.5) == .seconds(4))
        #expect(backoff.delay(afterFailures: 10, random: 0.5) == .seconds(30))
        #expect(backoff.delay(afterFailures: 10_000, random: 1) == .seconds(30))
    }

    @Test func jitterSpreadsDelaysAroundTheBase() {
        let backoff = Backoff()
        #expect(backoff.delay(afterFailures: 2, random: 0) == .milliseconds(1600))
        #expect(backoff.delay(afterFailures: 2, random: 1) == .milliseconds(2400))
    }
}

@Suite struct ErrorDescriptionTests {
    @Test func errorsCarryTheLibraryAndServerText() {
        let library = AMQPError.library(operation: "connecting to h:1", status: -9, message: "a socket error occurred")
        #expect(library.description == "connecting to h:1 failed: a socket error occurred (rabbitmq-c status -9)")
        let server = AMQPError.server(
            operation: "declaring queue 'q'", scope: .channel, replyCode: 406, replyText: "PRECONDITION_FAILED")
        #expect(server.description.contains("406 PRECONDITION_FAILED"))
        #expect(server.refusedDeclaration?.entity == "queue 'q'" && server.refusedDeclaration?.argument == nil)
        let inequivalent = AMQPError.server(
            operation: "declaring queue 'miner_index.dead_letter'", scope: .channel, replyCode: 406,
            replyText:
                "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'miner_index.dead_letter' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"
        )
        #expect(inequivalent.refusedDeclaration?.argument == "x-queue-type")
        #expect(
            inequivalent.description.hasSuffix(
                "The broker already holds queue 'miner_index.dead_letter' with a different 'x-queue-type', and keeps it as it is: "
                    + "delete it (moving its messages elsewhere first) or declare it as it stands"))
        let notADeclaration = AMQPError.server(
            operation: "consuming", scope: .channel, replyCode: 406, replyText: "PRECONDITION_FAILED")
        #expect(notADeclaration.refusedDeclaration == nil)
        #expect(
            AMQPError.server(operation: "login", scope: .connection, replyCode: 403, replyText: "ACCESS_REFUSED")
                .isPermanentConfigurationError)
        #expect(!library.isPermanentConfigurationError)
    }
}
