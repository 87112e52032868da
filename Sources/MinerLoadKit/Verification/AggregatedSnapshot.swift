import Foundation
import MinerIndex

/// One aggregated snapshot as received: `{"coin_hashrate_map": {"Bitcoin": [120.0, "TH/s"]}, "total_power": …,
/// "asic_miner_alive" | "cpu_gpu_miner_alive": "n/m", "sequence": N, "generated_at": "…"}`.
public struct AggregatedSnapshot: Sendable, Hashable {
    public var kind: MinerKind
    public var sequence: Int64
    public var generatedAt: Timestamp
    /// H/s per coin, converted back from the display unit.
    public var coins: [String: Double]
    public var totalPower: Double
    public var live: Int
    public var registered: Int
    public var arrivedAt: ContinuousClock.Instant

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let reason): return "unreadable aggregated snapshot: \(reason)" }
        }
    }

    public init(kind: MinerKind, body: [UInt8], arrivedAt: ContinuousClock.Instant) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw ParseError.invalid("not a JSON object")
        }
        guard let alive = object[kind.aliveKey] as? String else { throw ParseError.invalid("no \(kind.aliveKey)") }
        let parts = alive.split(separator: "/")
        guard parts.count == 2, let live = Int(parts[0]), let registered = Int(parts[1]) else {
            throw ParseError.invalid("\(kind.aliveKey) is '\(alive)', not 'n/m'")
        }
        guard let power = (object["total_power"] as? NSNumber)?.doubleValue else { throw ParseError.invalid("no total_power") }
        guard let sequence = (object["sequence"] as? NSNumber)?.int64Value else { throw ParseError.invalid("no sequence") }
        guard let generatedText = object["generated_at"] as? String, let generatedAt = ISO8601Timestamp.parse(generatedText)
        else { throw ParseError.invalid("no readable generated_at") }
        guard let map = object["coin_hashrate_map"] as? [String: Any] else { throw ParseError.invalid("no coin_hashrate_map") }
        var coins: [String: Double] = [:]
        for (coin, entry) in map {
            guard let pair = entry as? [Any], pair.count == 2, let value = (pair[0] as? NSNumber)?.doubleValue,
                  let symbol = pair[1] as? String,
                  let unit = HashrateUnit.allCases.first(where: { $0.symbol == symbol })
            else { throw ParseError.invalid("coin_hashrate_map[\(coin)] is not [number, unit]") }
            coins[coin] = value * unit.factor
        }
        self.kind = kind
        self.sequence = sequence
        self.generatedAt = generatedAt
        self.coins = coins
        self.totalPower = power
        self.live = live
        self.registered = registered
        self.arrivedAt = arrivedAt
    }
}
