/// Finds the ids due to expire without scanning every miner on every sweep.
///
/// Ids are filed in buckets by their observation time (one bucket per `bucketWidth`). A sweep visits only the
/// buckets that have fallen before the cutoff, plus the one bucket the cutoff falls in, and asks the owner for
/// each id whether it is really due: an id moved on to a newer bucket is simply left behind, so re-filing on
/// every log is a plain append with no removal. The cost of a sweep is therefore the expired ids plus the
/// logs received in one bucket width, not the size of the index.
struct ExpirySchedule: Sendable {
    private let bucketWidth: Int64
    private var buckets: [Int64: [Int64]] = [:]
    private var oldestBucket: Int64 = .max

    init(bucketWidthMicroseconds: Int64) {
        self.bucketWidth = max(1, bucketWidthMicroseconds)
    }

    /// Files `id` under `time`; `previous` is the time it was filed under before, if it still is.
    mutating func file(_ id: Int64, at time: Timestamp, previous: Timestamp?) {
        let bucket = bucketIndex(time)
        if let previous, bucketIndex(previous) == bucket { return }
        buckets[bucket, default: []].append(id)
        oldestBucket = min(oldestBucket, bucket)
    }

    /// Calls `expireIfDue` for every id filed at a time before `cutoff`, and forgets the buckets wholly before it.
    /// `expireIfDue` returns true if the id was expired, false if it is still live (or gone already).
    mutating func sweep(before cutoff: Timestamp, _ expireIfDue: (Int64) -> Bool) {
        let cutoffBucket = bucketIndex(cutoff)
        guard oldestBucket <= cutoffBucket else { return }
        let due: [Int64]
        if cutoffBucket - oldestBucket <= Int64(buckets.count) {
            due = Array(oldestBucket...cutoffBucket)
        } else {
            // After a long gap the range is mostly empty; walking the keys is cheaper than walking the range.
            due = buckets.keys.filter { $0 <= cutoffBucket }.sorted()
        }
        for bucket in due {
            guard let ids = buckets[bucket] else { continue }
            if bucket < cutoffBucket {
                buckets[bucket] = nil
                for id in ids { _ = expireIfDue(id) }
            } else {
                // The cutoff falls inside this bucket: keep the ids that are not yet due for the next sweep.
                let survivors = ids.filter { !expireIfDue($0) }
                buckets[bucket] = survivors.isEmpty ? nil : survivors
            }
        }
        oldestBucket = buckets.isEmpty ? .max : (buckets[cutoffBucket] != nil ? cutoffBucket : cutoffBucket + 1)
    }

    private func bucketIndex(_ time: Timestamp) -> Int64 {
        let micros = time.microsecondsSinceEpoch
        let quotient = micros / bucketWidth
        return micros % bucketWidth < 0 ? quotient - 1 : quotient
    }
}
