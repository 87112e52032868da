import Foundation
import MinerIndex
import Testing

@testable import MinerIndexService

/// One scrape, parsed: each series by its name and its labels.
private struct Scrape {
    struct Series: Hashable {
        let name: String
        let labels: [String: String]
    }

    var values: [Series: Double] = [:]
    var helped: Set<String> = []
    var typed: Set<String> = []

    init(_ bytes: [UInt8]) throws {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("# HELP ") {
                helped.insert(String(line.dropFirst(7).prefix { $0 != " " }))
            } else if line.hasPrefix("# TYPE ") {
                typed.insert(String(line.dropFirst(7).prefix { $0 != " " }))
            } else {
                let (series, value) = try Self.sample(Substring(line))
                values[series] = value
            }
        }
    }

    /// `name{key="value",…} number`, with the text format's escapes in values (\\, \" and \n).
    private static func sample(_ line: Substring) throws -> (Series, Double) {
        var rest = line
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                rest = rest.dropFirst(key.count + 2)  // `="`
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    guard character == "\\", let escaped = rest.first else {
                        value.append(character)
                        continue
                    }
                    rest = rest.dropFirst()
                    value.append(escaped == "n" ? "\n" : escaped)
                }
                rest = rest.dropFirst()  // closing quote
                if rest.first == "," { rest = rest.dropFirst() }
                labels[key] = value
            }
            rest = rest.dropFirst()
        }
        let text = rest.trimmingCharacters(in: .whitespaces)
        guard let value = Double(text) else { throw ParseFailure(line: String(line)) }
        return (Series(name: name, labels: labels), value)
    }

    struct ParseFailure: Error {
        let line: String
    }

    subscript(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        values[Series(name: name, labels: labels)]
    }

    func series(named name: String) -> [Series: Double] { values.filter { $0.key.name == name } }
}

@Suite struct FleetMetricsTests {
    private static let asicKind = ["kind": "asic_miner"]

    private static func asicAggregate() -> MinerAggregate {
        MinerAggregate(
            coinHashrates: [
                "Bitcoin": Hashrate(hashesPerSecond: 2.345678e17), "Litecoin": Hashrate(hashesPerSecond: 9.5e9),
            ],
            totalPower: 123_456.5, liveCount: 7, registeredCount: 9,
            health: FleetHealth(
                statusCounts: .init(online: 5, stale: 2, offline: 2, disabled: 1),
                coinPower: ["Bitcoin": 100_000.25, "Litecoin": 23_456.25],
                thermal: .init(maxTemperature: 91, averageTemperature: 77.25, hottest: [], fansStopped: 1),
                pools: [
                    "stratum+tcp://btc.example:3333": .init(miners: 4, accepted: 1000, rejected: 60),
                    "stratum+tcp://ltc.example:3333": .init(miners: 3, accepted: 500, rejected: 5),
                ],
                expectedMissing: .init(count: 2, ids: [3, 8]),
                models: [
                    "Antminer S19": .init(
                        liveCount: 4, registeredCount: 6, coinHashrates: [:], power: 100_000.25),
                    "Antminer L7": .init(liveCount: 3, registeredCount: 3, coinHashrates: [:], power: 23_456.25),
                ]))
    }

    private static func reading(
        asic: MinerAggregate,
        cpuGpu: MinerAggregate = MinerAggregate(
            coinHashrates: [:], totalPower: 0, liveCount: 0, registeredCount: 0), limit: Int = 50
    ) -> FleetMetrics.Reading {
        FleetMetrics.Reading(
            asic: VersionedAggregate(version: 41, aggregate: asic),
            cpuGpu: VersionedAggregate(version: 7, aggregate: cpuGpu), role: .leader, ready: true, leaderEpoch: 3,
            maxLabelValues: limit)
    }

    private static func payload(_ aggregate: MinerAggregate) throws -> [String: Any] {
        let bytes = MinerPayloadEncoder<AsicMiner, AsicMinerLog>(cachesRecords: false).aggregatedPayload(
            aggregate, sequence: 41, generatedAt: Timestamp(microsecondsSinceEpoch: 0))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// A `[value, "unit"]` pair of the payload in base units, through `unitFactor`.
    private static func baseUnits(_ pair: Any?, _ unitFactor: [String: Double]) throws -> Double {
        let array = try #require(pair as? [Any])
        let value = try #require(array.first as? Double)
        let unit = try #require(array.last as? String)
        return value * (try #require(unitFactor[unit]))
    }

    @Test func theGaugesShowWhatTheAggregatedPayloadShowsInBaseUnits() throws {
        let aggregate = Self.asicAggregate()
        let scrape = try Scrape(PrometheusExport().render(fleet: Self.reading(asic: aggregate)))
        let payload = try Self.payload(aggregate)

        let hashUnits = Dictionary(uniqueKeysWithValues: HashrateUnit.allCases.map { ($0.symbol, $0.factor) })
        let coins = try #require(payload["coin_hashrate_map"] as? [String: Any])
        #expect(Set(coins.keys) == ["Bitcoin", "Litecoin"])
        for (coin, pair) in coins {
            let gauge = try #require(
                scrape["miner_index_fleet_hashrate_hashes_per_second", ["kind": "asic_miner", "coin": coin]])
            let shown = try Self.baseUnits(pair, hashUnits)
            #expect(abs(gauge - shown) <= shown * 1e-8, "\(coin): \(gauge) H/s against the payload's \(shown)")
        }
        #expect(
            scrape["miner_index_fleet_power_watts", Self.asicKind] == (try #require(payload["total_power"] as? Double)))

        let status = try #require(payload["status_counts"] as? [String: Int])
        #expect(status.count == 4)
        for (name, count) in status {
            #expect(
                scrape["miner_index_fleet_miners", ["kind": "asic_miner", "status": name]] == Double(count), "\(name)")
        }

        let coinPower = try #require(payload["coin_power_map"] as? [String: Double])
        for (coin, watts) in coinPower {
            #expect(scrape["miner_index_fleet_coin_power_watts", ["coin": coin]] == watts, "\(coin)")
        }
        let efficiencyUnits = ["J/H": 1, "J/KH": 1e-3, "J/MH": 1e-6, "J/GH": 1e-9, "J/TH": 1e-12, "J/PH": 1e-15]
        let efficiencies = try #require(payload["coin_efficiency_map"] as? [String: Any])
        #expect(efficiencies.count == 2)
        for (coin, pair) in efficiencies {
            let gauge = try #require(scrape["miner_index_fleet_efficiency_joules_per_hash", ["coin": coin]])
            let shown = try Self.baseUnits(pair, efficiencyUnits)
            #expect(abs(gauge - shown) <= shown * 1e-8, "\(coin): \(gauge) J/H against the payload's \(shown)")
        }

        let thermal = try #require(payload["thermal"] as? [String: Any])
        let maximum = scrape["miner_index_fleet_temperature_celsius", ["kind": "asic_miner", "stat": "max"]]
        #expect(maximum == (try #require(thermal["max_temp"] as? Double)))
        let average = scrape["miner_index_fleet_temperature_celsius", ["kind": "asic_miner", "stat": "avg"]]
        #expect(average == (try #require(thermal["avg_temp"] as? Double)))
        #expect(
            scrape["miner_index_fleet_fans_stopped", Self.asicKind]
                == (try #require(thermal["fans_stopped"] as? Double)))

        let pools = try #require(payload["pools"] as? [String: [String: Double]])
        #expect(pools.count == 2)
        #expect(scrape.series(named: "miner_index_fleet_pool_miners").count == pools.count)
        for (address, pool) in pools {
            #expect(pool.count == 4)
            #expect(scrape["miner_index_fleet_pool_miners", ["pool": address]] == pool["miners"])
            #expect(
                scrape["miner_index_fleet_pool_shares", ["pool": address, "result": "accepted"]] == pool["accepted"])
            #expect(
                scrape["miner_index_fleet_pool_shares", ["pool": address, "result": "rejected"]] == pool["rejected"])
        }

        let models = try #require(payload["model_map"] as? [String: [String: Any]])
        #expect(models.count == 2)
        for (model, figures) in models {
            let alive = try #require(figures["alive"] as? String).split(separator: "/").compactMap { Double($0) }
            #expect(alive.count == 2)
            #expect(scrape["miner_index_fleet_model_miners", ["model": model, "status": "alive"]] == alive.first)
            #expect(
                scrape["miner_index_fleet_model_miners", ["model": model, "status": "offline"]]
                    == (alive.last ?? 0) - (alive.first ?? 0))
        }
        let missing = try #require(payload["expected_missing"] as? [String: Any])
        #expect(scrape["miner_index_fleet_expected_missing"] == (try #require(missing["count"] as? Double)))

        #expect(scrape["miner_index_ready"] == 1)
        #expect(scrape["miner_index_role", ["role": "leader"]] == 1)
        #expect(scrape["miner_index_role", ["role": "standby"]] == 0)
        #expect(scrape["miner_index_leader_epoch"] == 3)
        #expect(scrape["miner_index_index_version", Self.asicKind] == 41)
    }

    @Test func everyFleetGaugeHasHelpAndAType() throws {
        let scrape = try Scrape(PrometheusExport().render(fleet: Self.reading(asic: Self.asicAggregate())))
        let names = Set(scrape.values.keys.map(\.name))
        #expect(names == Set(FleetGauge.allCases.map(\.rawValue)))
        #expect(scrape.helped == names)
        #expect(scrape.typed == names)
    }

    @Test func everyServiceMetricHasHelp() throws {
        let export = PrometheusExport()
        let metrics = ServiceMetrics(factory: export.factory)
        // The labelled ones appear once used.
        metrics.received(.asic, count: 1)
        metrics.applied(.asic, outcome: "applied", count: 1)
        metrics.deadLettered(nil, reason: "invalid_json")
        metrics.snapshotPublished(exchange: "asic_miner_aggregated_index")
        metrics.stateWrite(seconds: .milliseconds(3), succeeded: true)
        metrics.snapshotBuildSeconds.recordNanoseconds(1_000)
        metrics.applyLagSeconds.recordNanoseconds(1_000)
        let scrape = try Scrape(export.render())
        #expect(!scrape.typed.isEmpty)
        #expect(scrape.typed == Set(ServiceMetrics.descriptions.keys))
        #expect(scrape.helped == scrape.typed)
    }

    @Test func beyondTheCapTheLightestValuesAreSummedUnderOther() throws {
        var aggregate = Self.asicAggregate()
        aggregate.health.pools = Dictionary(
            uniqueKeysWithValues: (1...6).map {
                ("stratum+tcp://pool\($0).example:3333", FleetHealth.Pool(miners: $0, accepted: 100, rejected: 1))
            })
        let scrape = try Scrape(PrometheusExport().render(fleet: Self.reading(asic: aggregate, limit: 4)))
        let miners = scrape.series(named: "miner_index_fleet_pool_miners")
        // The three with the most miners keep their own series; pools 1, 2 and 3 are summed.
        #expect(
            Dictionary(uniqueKeysWithValues: miners.map { ($0.key.labels["pool"] ?? "", $0.value) }) == [
                "stratum+tcp://pool6.example:3333": 6, "stratum+tcp://pool5.example:3333": 5,
                "stratum+tcp://pool4.example:3333": 4, "other": 6,
            ])
        #expect(scrape["miner_index_fleet_pool_shares", ["pool": "other", "result": "accepted"]] == 300)
        #expect(scrape["miner_index_fleet_pool_shares", ["pool": "other", "result": "rejected"]] == 3)
        // Two coins are within any cap of at least two.
        #expect(scrape.series(named: "miner_index_fleet_efficiency_joules_per_hash").count == 2)
    }

    @Test func coinsSummedUnderOtherGetTheirSummedPowerOverTheirSummedHashrate() throws {
        var aggregate = Self.asicAggregate()
        aggregate.coinHashrates["Kaspa"] = Hashrate(hashesPerSecond: 1e12)
        aggregate.health.coinPower["Kaspa"] = 3_000
        let scrape = try Scrape(PrometheusExport().render(fleet: Self.reading(asic: aggregate, limit: 2)))
        #expect(
            scrape["miner_index_fleet_hashrate_hashes_per_second", ["kind": "asic_miner", "coin": "other"]]
                == 9.5e9 + 1e12)
        #expect(scrape["miner_index_fleet_coin_power_watts", ["coin": "other"]] == 23_456.25 + 3_000)
        let efficiency = try #require(scrape["miner_index_fleet_efficiency_joules_per_hash", ["coin": "other"]])
        #expect(abs(efficiency - (23_456.25 + 3_000) / (9.5e9 + 1e12)) < 1e-20)
        #expect(scrape.series(named: "miner_index_fleet_coin_power_watts").count == 2)
    }

    @Test func aHostilePoolAddressIsEscapedAndScrapesStayParseable() throws {
        var aggregate = Self.asicAggregate()
        let hostile = "evil\"} 1\nminer_index_ready 0\\"
        aggregate.health.pools = [hostile: FleetHealth.Pool(miners: 1, accepted: 2, rejected: 3)]
        let scrape = try Scrape(PrometheusExport().render(fleet: Self.reading(asic: aggregate)))
        #expect(scrape["miner_index_fleet_pool_miners", ["pool": hostile]] == 1)
        #expect(scrape["miner_index_ready"] == 1)
    }

    @Test func aPoolThatHasGoneLeavesNoSeriesAndTheOthersTakeTheirNewValues() throws {
        let export = PrometheusExport()
        var aggregate = Self.asicAggregate()
        _ = export.render(fleet: Self.reading(asic: aggregate))
        aggregate.health.pools["stratum+tcp://ltc.example:3333"] = nil
        aggregate.health.pools["stratum+tcp://btc.example:3333"]?.miners = 9
        aggregate.totalPower = 1_000
        let scrape = try Scrape(export.render(fleet: Self.reading(asic: aggregate)))
        #expect(
            scrape.series(named: "miner_index_fleet_pool_miners").map(\.key.labels) == [
                ["pool": "stratum+tcp://btc.example:3333"]
            ])
        #expect(scrape["miner_index_fleet_pool_miners", ["pool": "stratum+tcp://btc.example:3333"]] == 9)
        #expect(scrape.series(named: "miner_index_fleet_pool_shares").count == 2)
        #expect(scrape["miner_index_fleet_power_watts", Self.asicKind] == 1_000)
        // Without a reading, the registry renders as the last scrape left it.
        #expect(try Scrape(export.render()).series(named: "miner_index_fleet_pool_miners").count == 1)
    }

    @Test func aKindWithoutTemperaturesHasNoTemperatureSeries() throws {
        let scrape = try Scrape(PrometheusExport().render(fleet: Self.reading(asic: Self.asicAggregate())))
        #expect(scrape.series(named: "miner_index_fleet_temperature_celsius").count == 2)
        #expect(scrape["miner_index_fleet_miners", ["kind": "cpu_gpu_miner", "status": "online"]] == 0)
        #expect(scrape["miner_index_fleet_power_watts", ["kind": "cpu_gpu_miner"]] == 0)
    }
}
