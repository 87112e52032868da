import Foundation
import MinerIndex

/// The aggregated index the service should publish at a given moment, as a range per figure. A figure is exact
/// unless some miners are in doubt: a miner whose latest log is within the service's sweep period of expiring
/// (it may or may not have been swept yet), or whose last publish failed without a definite answer. Each such
/// miner widens the range by what it could contribute, so the check stays sound without guessing.
public struct ExpectedTotals: Sendable, Hashable {
    public struct Bounds: Sendable, Hashable, CustomStringConvertible {
        public var low: Double
        public var high: Double

        public static let zero = Bounds(low: 0, high: 0)

        public var isExact: Bool { low == high }

        public func contains(_ value: Double, tolerance: Double) -> Bool {
            value >= low - tolerance && value <= high + tolerance
        }

        public var description: String {
            isExact ? Self.format(low) : "\(Self.format(low))…\(Self.format(high))"
        }

        /// Watts and counts: whole numbers as such, others to the milliwatt, since sums of decimals carry
        /// binary noise in the last digits that means nothing to a reader.
        static func format(_ value: Double) -> String {
            let rounded = (value * 1000).rounded() / 1000
            if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
            var text = String(format: "%.3f", rounded)
            while text.hasSuffix("0") { text.removeLast() }
            return text
        }
    }

    public var live = Bounds.zero
    public var registered = Bounds.zero
    public var power = Bounds.zero
    /// H/s per display coin name.
    public var coins: [String: Bounds] = [:]
    /// `status_counts.offline`: activated, no live log. (online + stale is `live`; how it splits depends on the
    /// time of the snapshot, so only the sum is checked.)
    public var offline = Bounds.zero
    /// `status_counts.disabled`: registered with `activated: false`.
    public var disabled = Bounds.zero
    /// `coin_power_map`: watts per display coin name (ASICs).
    public var coinPower: [String: Bounds] = [:]
    /// `thermal.max_temp`, with -infinity for "no live miner reports a temperature" (null).
    public var maxTemperature = Bounds(low: -.infinity, high: -.infinity)
    /// Miners whose contribution is a range rather than one value.
    public var minersInDoubt = 0

    /// The service's rules: a miner counts only if registered and activated; it is live while its latest
    /// `inserted_at` is no more than `offlineAfter` before the sweep; a log also registers an unknown id.
    public static func compute(
        entries: [MinerLedger.Entry], at time: Timestamp, offlineAfter: Duration, sweepInterval: Duration
    ) -> ExpectedTotals {
        let offline = Int64(offlineAfter.secondsValue * 1e6)
        // The snapshot is taken shortly before `generated_at`, and the last sweep ran within one sweep period
        // before that (a little more if the actor was busy): a log in that band may or may not be expired yet.
        let certainlyLiveFrom = time.microsecondsSinceEpoch - offline
        let certainlyExpiredBefore = certainlyLiveFrom - Int64(sweepInterval.secondsValue * 1e6) - 1_000_000

        var totals = ExpectedTotals()
        var outcomes: [Outcome] = []
        for entry in entries {
            outcomes.removeAll(keepingCapacity: true)
            possibleOutcomes(
                of: entry, certainlyLiveFrom: certainlyLiveFrom,
                certainlyExpiredBefore: certainlyExpiredBefore, into: &outcomes)
            totals.add(outcomes)
        }
        return totals
    }

    struct Outcome: Hashable {
        var registered: Bool
        var live: MinerContribution?
        /// Registered with `activated: false`.
        var disabled = false
    }

    private static func possibleOutcomes(
        of entry: MinerLedger.Entry, certainlyLiveFrom: Int64, certainlyExpiredBefore: Int64,
        into outcomes: inout [Outcome]
    ) {
        // Which log may be the service's latest: the confirmed one, a newer one in doubt, or none at all.
        var latestCandidates: [MinerLedger.LoggedState?] = [entry.confirmed]
        if let doubt = entry.inDoubt { latestCandidates.append(doubt) }

        var registrations: [Bool?]  // nil: registered exactly when a log was applied (activated placeholder)
        switch entry.registration {
        case .implicit: registrations = [nil]
        case .upserted(let activated): registrations = [activated]
        case .unknown(let activated): registrations = [nil, activated]
        }

        for registration in registrations {
            for candidate in latestCandidates {
                let registered = registration ?? (candidate != nil)
                guard registered, let candidate else {
                    outcomes.append(Outcome(registered: registered, live: nil, disabled: registration == false))
                    continue
                }
                let insertedAt = candidate.insertedAt.microsecondsSinceEpoch
                if insertedAt >= certainlyLiveFrom {
                    outcomes.append(Outcome(registered: true, live: candidate.contribution))
                } else if insertedAt < certainlyExpiredBefore {
                    outcomes.append(Outcome(registered: true, live: nil))
                } else {
                    outcomes.append(Outcome(registered: true, live: candidate.contribution))
                    outcomes.append(Outcome(registered: true, live: nil))
                }
            }
        }
    }

    private mutating func add(_ outcomes: [Outcome]) {
        guard let first = outcomes.first else { return }
        let certain = outcomes.allSatisfy { $0 == first }
        if !certain { minersInDoubt += 1 }

        func widen(_ bounds: inout Bounds, _ values: some Sequence<Double>) {
            var low = Double.infinity, high = -Double.infinity
            for value in values {
                low = min(low, value)
                high = max(high, value)
            }
            bounds.low += low
            bounds.high += high
        }
        widen(&registered, outcomes.lazy.map { $0.registered ? 1 : 0 })
        widen(&live, outcomes.lazy.map { $0.live == nil ? 0 : 1 })
        widen(&power, outcomes.lazy.map { $0.live?.power ?? 0 })
        widen(&offline, outcomes.lazy.map { $0.registered && $0.live == nil ? 1 : 0 })
        widen(&disabled, outcomes.lazy.map { $0.disabled ? 1 : 0 })
        // The fleet's maximum is the largest of the miners' temperatures, each somewhere in its own range.
        let temperatures = outcomes.map { $0.live?.maxTemperature ?? -.infinity }
        maxTemperature.low = max(maxTemperature.low, temperatures.min() ?? -.infinity)
        maxTemperature.high = max(maxTemperature.high, temperatures.max() ?? -.infinity)
        if certain {
            for share in first.live?.coins ?? [] {
                coins[share.coin, default: .zero].low += share.hashesPerSecond
                coins[share.coin, default: .zero].high += share.hashesPerSecond
            }
            for (coin, watts) in first.live?.coinPower ?? [:] {
                coinPower[coin, default: .zero].low += watts
                coinPower[coin, default: .zero].high += watts
            }
            return
        }
        var names = Set<String>()
        for outcome in outcomes { for share in outcome.live?.coins ?? [] { names.insert(share.coin) } }
        for name in names {
            widen(
                &coins[name, default: .zero],
                outcomes.lazy.map { outcome in
                    (outcome.live?.coins ?? []).reduce(0) { $0 + ($1.coin == name ? $1.hashesPerSecond : 0) }
                })
        }
        let powerNames = Set(outcomes.flatMap { $0.live?.coinPower.keys.map { $0 } ?? [] })
        for name in powerNames {
            widen(&coinPower[name, default: .zero], outcomes.lazy.map { $0.live?.coinPower[name] ?? 0 })
        }
    }
}
