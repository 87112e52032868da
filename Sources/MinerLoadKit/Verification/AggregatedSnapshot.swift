import Foundation
import MinerIndex

/// One aggregated snapshot as received: `{"coin_hashrate_map": {"Bitcoin": [120.0, "TH/s"]}, "total_power": …,
/// "asic_miner_alive" | "cpu_gpu_miner_alive": "n/m", "status_counts": {…}, "thermal": {"max_temp": …, …},
/// "coin_power_map": {…} (ASICs), …, "canaries": {"<id>": {"sequence": N, …}}, "sequence": N, "generated_at": "…"}`;
/// the keys `--verify` does not check are not read.
public struct AggregatedSnapshot: Sendable, Hashable {
    public struct StatusCounts: Sendable, Hashable {
        public var online: Int
        public var stale: Int
        public var offline: Int
        public var disabled: Int
    }

    public var kind: MinerKind
    public var sequence: Int64
    public var generatedAt: Timestamp
    /// H/s per coin, converted back from the display unit.
    public var coins: [String: Double]
    public var totalPower: Double
    public var live: Int
    public var registered: Int
    public var statusCounts: StatusCounts
    /// Watts per coin (ASICs; empty for rigs, whose payload has no `coin_power_map`).
    public var coinPower: [String: Double]
    /// `thermal.max_temp`; nil when it is null.
    public var maxTemperature: Double?
    /// `canaries`: the highest sequence the service applied, per canary id.
    public var canaries: [String: Int64]
    public var arrivedAt: ContinuousClock.Instant

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self {
            case .invalid(let reason): return "unreadable aggregated snapshot: \(reason)"
            }
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
        guard let power = (object["total_power"] as? NSNumber)?.doubleValue else {
            throw ParseError.invalid("no total_power")
        }
        guard let sequence = (object["sequence"] as? NSNumber)?.int64Value else {
            throw ParseError.invalid("no sequence")
        }
        guard let generatedText = object["generated_at"] as? String,
            let generatedAt = ISO8601Timestamp.parse(generatedText)
        else { throw ParseError.invalid("no readable generated_at") }
        guard let map = object["coin_hashrate_map"] as? [String: Any] else {
            throw ParseError.invalid("no coin_hashrate_map")
        }
        var coins: [String: Double] = [:]
        for (coin, entry) in map {
            guard let pair = entry as? [Any], pair.count == 2, let value = (pair[0] as? NSNumber)?.doubleValue,
                let symbol = pair[1] as? String,
                let unit = HashrateUnit.allCases.first(where: { $0.symbol == symbol })
            else { throw ParseError.invalid("coin_hashrate_map[\(coin)] is not [number, unit]") }
            coins[coin] = value * unit.factor
        }
        guard let counts = object["status_counts"] as? [String: Any],
            let online = (counts["online"] as? NSNumber)?.intValue,
            let stale = (counts["stale"] as? NSNumber)?.intValue,
            let offline = (counts["offline"] as? NSNumber)?.intValue,
            let disabled = (counts["disabled"] as? NSNumber)?.intValue
        else { throw ParseError.invalid("no status_counts with online, stale, offline and disabled") }
        guard let thermal = object["thermal"] as? [String: Any], let maxTemperature = thermal["max_temp"],
            maxTemperature is NSNull || maxTemperature is NSNumber
        else { throw ParseError.invalid("no thermal.max_temp") }
        var coinPower: [String: Double] = [:]
        if kind == .asic {
            guard let map = object["coin_power_map"] as? [String: Any] else {
                throw ParseError.invalid("no coin_power_map")
            }
            for (coin, watts) in map {
                guard let value = (watts as? NSNumber)?.doubleValue else {
                    throw ParseError.invalid("coin_power_map[\(coin)] is not a number")
                }
                coinPower[coin] = value
            }
        }
        var canaries: [String: Int64] = [:]
        if let map = object["canaries"] as? [String: Any] {
            for (id, entry) in map {
                guard let sequence = ((entry as? [String: Any])?["sequence"] as? NSNumber)?.int64Value else {
                    throw ParseError.invalid("canaries[\(id)] has no sequence")
                }
                canaries[id] = sequence
            }
        }
        self.canaries = canaries
        self.kind = kind
        self.sequence = sequence
        self.generatedAt = generatedAt
        self.coins = coins
        self.totalPower = power
        self.live = live
        self.registered = registered
        self.statusCounts = StatusCounts(online: online, stale: stale, offline: offline, disabled: disabled)
        self.coinPower = coinPower
        self.maxTemperature = (maxTemperature as? NSNumber)?.doubleValue
        self.arrivedAt = arrivedAt
    }
}
