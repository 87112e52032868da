import MinerIndex

/// GPU cards, GPU coins and CPU coins of typical mining rigs, with per-card hashrates of the right order.
enum CpuGpuCatalog {
    struct Card: Sendable {
        let name: String
        /// Relative to an RTX 3080.
        let speed: Double
        let watts: Double
    }

    struct GpuCoin: Sendable {
        let spellings: [String]
        let algorithm: String
        /// On an RTX 3080.
        let hashesPerSecondPerCard: Double
        let pools: [String]
    }

    static let cards: [Card] = [
        Card(name: "NVIDIA GeForce RTX 3060 Ti", speed: 0.65, watts: 130),
        Card(name: "NVIDIA GeForce RTX 3070", speed: 0.78, watts: 140),
        Card(name: "NVIDIA GeForce RTX 3080", speed: 1.0, watts: 230),
        Card(name: "NVIDIA GeForce RTX 3090", speed: 1.2, watts: 290),
        Card(name: "NVIDIA GeForce RTX 4090", speed: 1.7, watts: 320),
        Card(name: "AMD Radeon RX 6800 XT", speed: 0.9, watts: 200),
        Card(name: "AMD Radeon RX 580 8GB", speed: 0.45, watts: 120),
    ]

    static let etc = GpuCoin(
        spellings: ["ethereum classic", "Ethereum Classic"], algorithm: "Etchash",
        hashesPerSecondPerCard: 98e6, pools: ["stratum+tcp://etc.2miners.com:1010"])
    static let ravencoin = GpuCoin(
        spellings: ["ravencoin", "Ravencoin"], algorithm: "KawPow",
        hashesPerSecondPerCard: 45e6, pools: ["stratum+tcp://rvn.2miners.com:6060"])
    static let ergo = GpuCoin(
        spellings: ["ergo", "ERGO"], algorithm: "Autolykos2",
        hashesPerSecondPerCard: 240e6, pools: ["stratum+tcp://erg.2miners.com:8888"])
    static let conflux = GpuCoin(
        spellings: ["conflux"], algorithm: "Octopus",
        hashesPerSecondPerCard: 78e6, pools: ["stratum+tcp://cfx.f2pool.com:6800"])
    static let kaspa = GpuCoin(
        spellings: ["kaspa", "Kaspa"], algorithm: "kHeavyHash",
        hashesPerSecondPerCard: 1.1e9, pools: ["stratum+tcp://kas.2miners.com:2020"])
    static let alephium = GpuCoin(
        spellings: ["alephium", "Alephium"], algorithm: "Blake3",
        hashesPerSecondPerCard: 2.6e9, pools: ["stratum+tcp://alph.2miners.com:2020"])
    static let moneroOnGpu = GpuCoin(
        spellings: ["monero", "Monero"], algorithm: "RandomX",
        hashesPerSecondPerCard: 1.6e3, pools: ["stratum+tcp://xmr.2miners.com:2222"])

    /// Slot 1 coins; some rigs add a second coin in slot 2 (dual mining).
    static let primaryCoins = [etc, ravencoin, ergo, conflux, kaspa, moneroOnGpu]
    static let dualPartners = [kaspa, alephium]

    static let cpus: [(name: String, hashesPerSecond: Double, watts: Double)] = [
        ("AMD Ryzen 9 7950X", 24_000, 170), ("AMD Ryzen 9 5950X", 19_000, 140), ("AMD Ryzen 7 5800X", 10_500, 105),
        ("Intel Core i9-13900K", 18_000, 200), ("Intel Core i5-12400", 6_500, 65),
    ]
    static let cpuCoinSpellings = ["monero", "Monero", "MONERO"]
    static let motherboards = ["ASUS B250 Mining Expert", "MSI Pro Z690-A", "Gigabyte B550 AORUS", "BTC-S37"]
}
