import ArgumentParser
import Testing

@testable import MinerLoadKit

@Suite struct OptionsTests {
    func resolve(_ arguments: [String]) throws -> LoadConfiguration {
        try LoadOptions.parse(arguments).resolve(environment: [:])
    }

    @Test func durationsAndRatesAreReadLikeTheServices() throws {
        let configuration = try resolve([
            "--report-interval", "500ms", "--duration", "2m", "--rate", "max", "--verify",
            "--verify-timeout", "1s", "--offline-after", "10s", "--churn", "--churn-silence", "90s",
        ])
        #expect(configuration.reportInterval == .milliseconds(500))
        #expect(configuration.length == .duration(.seconds(120)))
        #expect(configuration.rate == .unlimited)
        #expect(configuration.verification?.timeout == .seconds(1))
        #expect(configuration.verification?.offlineAfter == .seconds(10))
        #expect(configuration.churn?.silence == .seconds(90))
        #expect(try resolve(["--rate", "2500", "--count", "10"]).rate == .capped(perSecond: 2500))
        #expect(try resolve(["--count", "10"]).length == .count(10))
        #expect(try resolve([]).length == .duration(.seconds(30)))
        #expect(try resolve([]).reconnectTimeout == .seconds(60))
        #expect(try resolve(["--reconnect-timeout", "2m"]).reconnectTimeout == .seconds(120))
        #expect(try resolve(["--verify", "--probe-timeline"]).verification?.probeTimeline == true)
        #expect(try resolve(["--verify"]).verification?.probeTimeline == false)
    }

    @Test func theURLComesFromTheFlagThenTheEnvironment() throws {
        let fromEnvironment = try LoadOptions.parse([]).resolve(environment: [
            "MINER_LOAD_AMQP_URL": "amqp://u:secret@127.0.0.1:5673/v"
        ])
        #expect(fromEnvironment.amqp.port == 5673)
        #expect(!fromEnvironment.amqp.redactedURL.contains("secret"))
        let fromFlag = try LoadOptions.parse(["--amqp-url", "amqp://127.0.0.1:5674/"]).resolve(environment: [
            "MINER_LOAD_AMQP_URL": "amqp://127.0.0.1:5673/"
        ])
        #expect(fromFlag.amqp.port == 5674)
    }

    @Test(arguments: [
        (["--rate", "fast"], "--rate"),
        (["--rate", "-5"], "--rate"),
        (["--duration", "soon"], "--duration"),
        (["--report-interval", "0s"], "--report-interval"),
        (["--bad-fraction", "1.5"], "--bad-fraction"),
        (["--asic", "0", "--cpu-gpu", "0"], "fleet is empty"),
        (["--duration", "1s", "--count", "5"], "not both"),
        (["--count", "0"], "--count"),
        (["--window", "0"], "--window"),
        (["--amqp-url", "http://example"], "--amqp-url"),
        (["--verify", "--verify-timeout", "later"], "--verify-timeout"),
        (["--reconnect-timeout", "0s"], "--reconnect-timeout"),
    ])
    func nonsenseIsRefusedWithAMessageNamingTheFlag(arguments: [String], mentions: String) {
        do {
            _ = try resolve(arguments)
            Issue.record("accepted \(arguments)")
        } catch {
            #expect(LoadOptions.message(for: error).contains(mentions), "\(LoadOptions.message(for: error))")
        }
    }

    @Test func unknownFlagsAreRefusedByTheParser() {
        #expect(throws: (any Error).self) { try LoadOptions.parse(["--asics", "5"]) }
        #expect(throws: (any Error).self) { try LoadOptions.parse(["--asic", "many"]) }
    }
}
