import AMQP
import BrokerTestSupport
import Foundation
import Logging
import Testing

@testable import MinerLoadKit

/// miner-index (in-process) and miner-load over `amqps://` with peer and host verification, against TLS listeners
/// of the test broker (see `TLSTestListeners`).
@Suite(.serialized) struct TLSEndToEndTests {
    @Test func minerIndexAndMinerLoadWorkOverVerifiedTLS() async throws {
        try await TLSTestListeners.withListeners { tls in
            // The service by IP address; miner-load by name, with a client certificate the broker insists on.
            var serviceSettings = try ConnectionSettings(url: tls.url(.verified, host: "127.0.0.1"))
            serviceSettings.connectionName = "miner-index-tests"
            let service = try InProcessService(offlineAfter: .seconds(60), amqp: serviceSettings)
            try await service.start()
            let loadSettings = try ConnectionSettings(url: tls.url(.clientCertificateRequired, clientCertificate: true))
            let configuration = service.loadConfiguration().make { configuration in
                configuration.amqp = loadSettings
                configuration.asicCount = 20
                configuration.cpuGpuCount = 10
                configuration.reportInterval = .milliseconds(250)
                configuration.register = true
                configuration.badFraction = 0.05
                configuration.length = .count(400)
            }
            let summary = try await LoadRun(
                configuration: configuration, showsProgress: false, logger: TestBroker.logger
            )
            .run()
            await service.stop()

            #expect(summary.broker.hasPrefix("amqps://guest:***@localhost:"))
            #expect(summary.verification?.passed == true, "\(summary.text())")
            #expect(summary.counts.confirmed == summary.counts.sent)
        }
    }

    @Test func theServiceKeepsRetryingAndSaysWhyWhileTheBrokersCertificateIsRefused() async throws {
        try await TLSTestListeners.withListeners { tls in
            // The CA file the service reads on every connection attempt first holds the wrong CA.
            let caFile = tls.directory + "/service-ca.pem"
            try FileManager.default.copyItem(atPath: tls.otherCAFile, toPath: caFile)
            let service = try InProcessService(
                offlineAfter: .seconds(60), amqp: try ConnectionSettings(url: tls.url(.verified, caFile: caFile)))
            service.launch()
            #expect(
                await eventually(timeout: .seconds(15)) {
                    service.service.readiness.reason.contains("certificate verify failed")
                }, "readiness: \(service.service.readiness)")
            #expect(!service.service.readiness.ready)

            // Fixing the file is enough: the service was retrying all along.
            try FileManager.default.removeItem(atPath: caFile)
            try FileManager.default.copyItem(atPath: tls.caFile, toPath: caFile)
            #expect(
                await eventually(timeout: .seconds(15)) { service.service.readiness.ready },
                "readiness: \(service.service.readiness)")
            await service.stop()
        }
    }

    @Test func theServiceSaysWhyWhenTheBrokersCertificateNamesAnotherHost() async throws {
        try await TLSTestListeners.withListeners { tls in
            let service = try InProcessService(
                offlineAfter: .seconds(60), amqp: try ConnectionSettings(url: tls.url(.misnamed, host: "127.0.0.1")))
            service.launch()
            #expect(
                await eventually(timeout: .seconds(15)) {
                    service.service.readiness.reason.contains("certificate verify failed: IP address mismatch")
                }, "readiness: \(service.service.readiness)")
            #expect(!service.service.readiness.ready)
            await service.stop()
        }
    }

    @Test func minerLoadReportsARefusedCertificateInsteadOfHanging() async throws {
        try await TLSTestListeners.withListeners { tls in
            var configuration = LoadConfiguration(amqp: try ConnectionSettings(url: tls.url(.misnamed)))
            configuration.connectTimeout = .seconds(2)
            configuration.length = .count(10)
            do throws(LoadError) {
                _ = try await LoadRun(configuration: configuration, showsProgress: false, logger: TestBroker.logger)
                    .run()
                Issue.record("a run against a misnamed broker certificate succeeded")
            } catch {
                guard case .brokerUnreachable = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(error.description.contains("certificate verify failed: hostname mismatch"), "\(error)")
            }
        }
    }
}
