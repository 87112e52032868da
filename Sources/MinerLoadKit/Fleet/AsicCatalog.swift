import MinerIndex

/// Real ASIC models and what they do, so generated logs look like a farm's: SHA-256 machines for bitcoin in
/// TH/s, kHeavyHash for kaspa, Scrypt for litecoin in GH/s, and a few others.
enum AsicCatalog {
    struct Model: Sendable {
        let name: String
        let variant: String
        let coinSpellings: [String]
        let nominalHashesPerSecond: Double
        let watts: Double
        let fans: Int
        let pools: [String]
    }

    static let models: [Model] = [
        Model(
            name: "Antminer S19", variant: "Pro", coinSpellings: ["bitcoin", "Bitcoin", "BITCOIN", " bitcoin "],
            nominalHashesPerSecond: 110e12, watts: 3250, fans: 4,
            pools: ["stratum+tcp://btc.f2pool.com:1314", "stratum+tcp://ss.antpool.com:3333"]),
        Model(
            name: "Antminer S19", variant: "XP", coinSpellings: ["bitcoin", "Bitcoin"],
            nominalHashesPerSecond: 140e12, watts: 3010, fans: 4,
            pools: ["stratum+tcp://btc.viabtc.io:3333", "stratum+tcp://ss.antpool.com:3333"]),
        Model(
            name: "Antminer S21", variant: "", coinSpellings: ["bitcoin", "BitCoin"],
            nominalHashesPerSecond: 200e12, watts: 3500, fans: 4,
            pools: ["stratum+tcp://btc.f2pool.com:1314", "stratum+tcp://btc.foundryusapool.com:3333"]),
        Model(
            name: "Whatsminer M30S++", variant: "", coinSpellings: ["bitcoin"],
            nominalHashesPerSecond: 112e12, watts: 3472, fans: 2,
            pools: ["stratum+tcp://btc.ss.poolin.one:443", "stratum+tcp://btc.viabtc.io:3333"]),
        Model(
            name: "Antminer KS3", variant: "", coinSpellings: ["kaspa", "Kaspa", "KASPA"],
            nominalHashesPerSecond: 9.4e12, watts: 3500, fans: 4,
            pools: ["stratum+tcp://kas.2miners.com:2020", "stratum+tcp://kaspa.f2pool.com:4400"]),
        Model(
            name: "IceRiver KS2", variant: "", coinSpellings: ["kaspa", "Kaspa"],
            nominalHashesPerSecond: 2e12, watts: 1200, fans: 2,
            pools: ["stratum+tcp://kas.2miners.com:2020"]),
        Model(
            name: "Antminer L7", variant: "", coinSpellings: ["litecoin", "Litecoin", " litecoin"],
            nominalHashesPerSecond: 9.5e9, watts: 3425, fans: 4,
            pools: ["stratum+tcp://ltc.viabtc.io:3333", "stratum+tcp://ltc.f2pool.com:8888"]),
        Model(
            name: "Antminer L9", variant: "", coinSpellings: ["litecoin", "LITECOIN"],
            nominalHashesPerSecond: 16e9, watts: 3360, fans: 4,
            pools: ["stratum+tcp://ltc.viabtc.io:3333"]),
        Model(
            name: "Antminer D9", variant: "", coinSpellings: ["dash", "Dash"],
            nominalHashesPerSecond: 1.77e12, watts: 2839, fans: 4,
            pools: ["stratum+tcp://dash.f2pool.com:5588"]),
        Model(
            name: "Antminer KA3", variant: "", coinSpellings: ["kadena"],
            nominalHashesPerSecond: 166e12, watts: 3154, fans: 4,
            pools: ["stratum+tcp://kda.f2pool.com:5400"]),
    ]

    /// Units a miner of this size might plausibly report in: its natural unit and the ones next to it.
    static func plausibleUnits(for hashesPerSecond: Double) -> [HashrateUnit] {
        HashrateUnit.acceptedInput.filter { unit in
            let value = hashesPerSecond / unit.factor
            return value >= 0.05 && value < 2_000_000
        }
    }
}
