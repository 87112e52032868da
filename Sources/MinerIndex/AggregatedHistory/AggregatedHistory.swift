/// The aggregated figures of one miner kind over time, for the dashboard's chart: every broadcast tick for the
/// last hour, the means of each minute for a day and of each hour for a month (by default).
///
/// Fed once per tick with the aggregated index and the tick's time (`record`); time is always passed in. The
/// minute and hour means are kept as running sums of their open bucket, so a tick costs the number of coins.
///
/// Persistence seam: `pendingRows()` hands over the rows added or changed since its last call (a tick row, and
/// the open minute and hour rows with their new means), to be upserted by (resolution, bucket start);
/// `retentionCutoff(_:now:)` says which stored rows to delete; `init(restoring:now:)` rebuilds the history from
/// the stored rows, so that it answers as before the restart and goes on filling the open buckets.
public struct AggregatedHistory: Sendable {
    /// How long rows are kept at each resolution.
    public struct Retention: Sendable, Hashable {
        public var tickSeconds: Int64
        public var minuteSeconds: Int64
        public var hourSeconds: Int64

        public init(tickSeconds: Int64 = 3600, minuteSeconds: Int64 = 86_400, hourSeconds: Int64 = 30 * 86_400) {
            self.tickSeconds = tickSeconds
            self.minuteSeconds = minuteSeconds
            self.hourSeconds = hourSeconds
        }

        public static let standard = Retention()

        func seconds(_ resolution: AggregatedHistoryResolution) -> Int64 {
            switch resolution {
            case .tick: tickSeconds
            case .minute: minuteSeconds
            case .hour: hourSeconds
            }
        }
    }

    /// A bucket still filling: the sums of its ticks, from which its row holds the means.
    private struct OpenBucket: Sendable {
        var start: Int64
        var samples: Int
        var sums: AggregatedHistoryFigures
    }

    private struct RowKey: Hashable, Sendable {
        var resolution: AggregatedHistoryResolution
        var start: Int64
    }

    public let retention: Retention
    private var series: [AggregatedHistoryResolution: RowSeries] = [:]
    private var openBuckets: [AggregatedHistoryResolution: OpenBucket] = [:]
    private var latestTick: Int64?
    private var pending: [RowKey: AggregatedHistoryRow] = [:]

    public init(retention: Retention = .standard) {
        self.retention = retention
        for resolution in AggregatedHistoryResolution.allCases { series[resolution] = RowSeries() }
    }

    /// The history as stored: `rows` as `pendingRows()` handed them over (the latest version of each), in any
    /// order. Rows older than the retention at `now` are left out; nothing is pending afterwards.
    public init(restoring rows: [AggregatedHistoryRow], now: Timestamp, retention: Retention = .standard) {
        self.init(retention: retention)
        var latest: [RowKey: AggregatedHistoryRow] = [:]
        for row in rows where row.samples > 0 {
            latest[RowKey(resolution: row.resolution, start: row.bucketStart.microsecondsSinceEpoch)] = row
        }
        let ordered = latest.values.sorted { $0.bucketStart < $1.bucketStart }
        for row in ordered {
            series[row.resolution]?.upsertLast(row)
            let start = row.bucketStart.microsecondsSinceEpoch
            if row.resolution == .tick {
                latestTick = max(latestTick ?? .min, start)
            } else {
                openBuckets[row.resolution] = OpenBucket(
                    start: start, samples: row.samples, sums: row.figures.scaled(by: Double(row.samples), *))
            }
        }
        prune(now: now)
    }

    /// Replaces the whole history by the stored rows, as `init(restoring:now:)`.
    public mutating func restore(_ rows: [AggregatedHistoryRow], now: Timestamp) {
        self = AggregatedHistory(restoring: rows, now: now, retention: retention)
    }

    /// Adds one tick at `time`, updates the means of its minute and hour, and drops what has aged out. A tick not
    /// after the latest one (a clock that stepped back) is ignored, so every series stays in time order.
    public mutating func record(_ figures: AggregatedHistoryFigures, at time: Timestamp) {
        let now = time.microsecondsSinceEpoch
        if let latestTick, now <= latestTick { return }
        latestTick = now
        store(AggregatedHistoryRow(resolution: .tick, bucketStart: time, samples: 1, figures: figures))
        for resolution in [AggregatedHistoryResolution.minute, .hour] {
            guard let width = resolution.bucketMicroseconds else { continue }
            let start = Self.floor(now, to: width)
            var bucket = openBuckets[resolution] ?? OpenBucket(start: start, samples: 0, sums: .init())
            if bucket.start < start { bucket = OpenBucket(start: start, samples: 0, sums: .init()) }
            guard bucket.start == start else { continue }
            bucket.samples += 1
            bucket.sums.add(figures)
            openBuckets[resolution] = bucket
            store(
                AggregatedHistoryRow(
                    resolution: resolution, bucketStart: Timestamp(microsecondsSinceEpoch: start),
                    samples: bucket.samples,
                    figures: bucket.sums.scaled(by: Double(bucket.samples), /)))
        }
        prune(now: time)
    }

    /// The rows of `resolution` whose bucket starts at or after `since` (all kept rows without it), oldest first.
    public func rows(_ resolution: AggregatedHistoryResolution, since: Timestamp? = nil) -> [AggregatedHistoryRow] {
        series[resolution]?.rows(since: since?.microsecondsSinceEpoch ?? .min) ?? []
    }

    /// The rows added or changed since the last call, ticks then minutes then hours, oldest first, and forgets
    /// them. Rows that aged out (at the latest tick) before they were handed over are left out.
    public mutating func pendingRows() -> [AggregatedHistoryRow] {
        defer { pending.removeAll(keepingCapacity: true) }
        let now = latestTick.map { Timestamp(microsecondsSinceEpoch: $0) }
        return pending.values
            .filter { row in now.map { row.bucketStart >= retentionCutoff(row.resolution, now: $0) } ?? true }
            .sorted { ($0.resolution.sortOrder, $0.bucketStart) < ($1.resolution.sortOrder, $1.bucketStart) }
    }

    /// Rows of `resolution` starting before this instant have aged out at `now`; the store deletes them too.
    public func retentionCutoff(_ resolution: AggregatedHistoryResolution, now: Timestamp) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - retention.seconds(resolution) * 1_000_000)
    }

    /// Drops the rows that have aged out at `now` (`record` does it on every tick).
    public mutating func prune(now: Timestamp) {
        var retainedCount = 0
        for resolution in AggregatedHistoryResolution.allCases {
            let cutoff = retentionCutoff(resolution, now: now).microsecondsSinceEpoch
            series[resolution]?.dropRows(before: cutoff)
            retainedCount += series[resolution]?.count ?? 0
        }
        // Rows nobody collected are forgotten once they age out; checked only when there are many, so that a
        // history without a store costs no scan per tick.
        if pending.count > 2 * retainedCount + 64 {
            pending = pending.filter { key, _ in
                key.start >= retentionCutoff(key.resolution, now: now).microsecondsSinceEpoch
            }
        }
    }

    private mutating func store(_ row: AggregatedHistoryRow) {
        series[row.resolution]?.upsertLast(row)
        pending[RowKey(resolution: row.resolution, start: row.bucketStart.microsecondsSinceEpoch)] = row
    }

    private static func floor(_ micros: Int64, to width: Int64) -> Int64 {
        let remainder = micros % width
        return remainder < 0 ? micros - remainder - width : micros - remainder
    }
}

extension AggregatedHistoryResolution {
    fileprivate var sortOrder: Int {
        switch self {
        case .tick: 0
        case .minute: 1
        case .hour: 2
        }
    }
}

/// Rows in time order, appended or updated at the end and dropped from the front, without moving the rest on
/// every drop.
private struct RowSeries: Sendable {
    private var storage: [AggregatedHistoryRow] = []
    private var head = 0

    var count: Int { storage.count - head }

    /// Replaces the last row if it has the same bucket start, else appends.
    mutating func upsertLast(_ row: AggregatedHistoryRow) {
        if head < storage.count, let last = storage.last, last.bucketStart == row.bucketStart {
            storage[storage.count - 1] = row
        } else {
            storage.append(row)
        }
    }

    mutating func dropRows(before cutoff: Int64) {
        while head < storage.count, storage[head].bucketStart.microsecondsSinceEpoch < cutoff { head += 1 }
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    func rows(since start: Int64) -> [AggregatedHistoryRow] {
        var low = head, high = storage.count
        while low < high {
            let middle = (low + high) / 2
            if storage[middle].bucketStart.microsecondsSinceEpoch < start { low = middle + 1 } else { high = middle }
        }
        return Array(storage[low...])
    }
}
