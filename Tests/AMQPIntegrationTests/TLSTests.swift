import AMQP
import BrokerTestSupport
import Foundation
import Testing

/// The AMQP layer against real TLS listeners of the test broker, with certificates made for the test (see
/// `TLSTestListeners`): peer and host verification on, and each way it must refuse, in OpenSSL's words.
@Suite(.serialized) struct TLSTests {
    @Test func messagesRoundTripOverVerifiedTLSToANameAndToAnIPAddress() async throws {
        try await TLSTestListeners.withListeners { tls in
            // The broker's certificate names both: DNS:localhost and IP:127.0.0.1.
            for host in ["localhost", "127.0.0.1"] {
                let settings = try ConnectionSettings(url: tls.url(.verified, host: host))
                let queue = TestBroker.uniqueName("test.tls")
                let publisher = AMQPPublisher(
                    settings: settings,
                    configuration: .init(
                        topology: Topology(queues: [QueueDeclaration(name: queue, durable: false, autoDelete: false)]),
                        backoff: TestBroker.fastBackoff),
                    logger: TestBroker.logger)
                publisher.start()
                try await publisher.waitUntilConnected(timeout: .seconds(10))
                let body = Array("over TLS to \(host)".utf8)
                #expect(
                    try await publisher.publish(OutgoingMessage(exchange: "", routingKey: queue, body: body))
                        == .confirmed)

                let consumer = AMQPConsumer(
                    settings: settings, configuration: .init(queue: queue, backoff: TestBroker.fastBackoff),
                    logger: TestBroker.logger)
                consumer.start()
                var iterator = consumer.deliveries.makeAsyncIterator()
                let delivery = try #require(await iterator.next())
                #expect(delivery.body == body)
                consumer.ack(delivery.tag)
                await consumer.close()
                await publisher.close()
                try await AMQPAdmin.withChannel(settings) { channel throws(AMQPError) in try channel.deleteQueue(queue)
                }
            }
        }
    }

    @Test func aBrokerCertificateFromAnotherCAIsRefusedWithOpenSSLsReason() async throws {
        try await TLSTestListeners.withListeners { tls in
            let settings = try ConnectionSettings(url: tls.url(.verified, caFile: tls.otherCAFile))
            let error = await connectionError(settings)
            guard case .library(let operation, _, let message) = error else {
                Issue.record("expected a TLS failure, got \(String(describing: error))")
                return
            }
            #expect(operation == "connecting to localhost:\(tls.ports[.verified] ?? 0)")
            #expect(
                message.contains("certificate verify failed: self-signed certificate in certificate chain")
                    || message.contains("certificate verify failed: unable to get local issuer certificate"),
                "\(message)")
            #expect(message.contains("miner-index test CA"), "\(message)")
            #expect(!message.contains("guest"))

            // Without verification the same connection is accepted: the refusal above was verification's.
            let unverified = try ConnectionSettings(
                url: tls.url(.verified, caFile: tls.otherCAFile, extra: "verify=verify_none"))
            #expect(await connectionError(unverified) == nil)
        }
    }

    @Test func aHostNotNamedInTheBrokersCertificateIsRefused() async throws {
        try await TLSTestListeners.withListeners { tls in
            let byName = await connectionError(try ConnectionSettings(url: tls.url(.misnamed, host: "localhost")))
            #expect(
                byName?.description.contains(
                    "certificate verify failed: hostname mismatch (the broker's certificate /CN=broker.miner-index.invalid)"
                ) == true,
                "\(String(describing: byName))")
            let byAddress = await connectionError(try ConnectionSettings(url: tls.url(.misnamed, host: "127.0.0.1")))
            #expect(
                byAddress?.description.contains("certificate verify failed: IP address mismatch") == true,
                "\(String(describing: byAddress))")

            // The chain is good: only the name was wrong.
            let nameUnchecked = try ConnectionSettings(url: tls.url(.misnamed, extra: "verify_hostname=false"))
            #expect(await connectionError(nameUnchecked) == nil)
        }
    }

    @Test func aClientCertificateIsPresentedWhenTheURLGivesOne() async throws {
        try await TLSTestListeners.withListeners { tls in
            // The broker's alert arrives during the login, as a read error ("tlsv13 alert certificate required")
            // or, if the client was writing at that moment, as a write to a closed socket.
            let without = await connectionError(try ConnectionSettings(url: tls.url(.clientCertificateRequired)))
            #expect(without != nil)

            let with = try ConnectionSettings(url: tls.url(.clientCertificateRequired, clientCertificate: true))
            #expect(await connectionError(with) == nil)
        }
    }

    @Test func withoutACAFileTheSystemTrustStoreIsUsed() async throws {
        try await TLSTestListeners.withListeners { tls in
            let settings = try ConnectionSettings(url: "amqps://guest:guest@localhost:\(tls.ports[.verified] ?? 0)/")
            // OpenSSL's default store is overridable through SSL_CERT_FILE: pointing it at the test CA stands
            // for a broker certificate from a CA the system trusts.
            setenv("SSL_CERT_FILE", tls.caFile, 1)
            defer { unsetenv("SSL_CERT_FILE") }
            #expect(await connectionError(settings) == nil)
            setenv("SSL_CERT_FILE", tls.otherCAFile, 1)
            #expect(await connectionError(settings) != nil)
        }
    }

    /// Opens a connection and a channel; nil if that worked.
    private func connectionError(_ settings: ConnectionSettings) async -> AMQPError? {
        do {
            try await AMQPAdmin.withChannel(settings) { _ throws(AMQPError) in () }
            return nil
        } catch {
            return error
        }
    }
}
