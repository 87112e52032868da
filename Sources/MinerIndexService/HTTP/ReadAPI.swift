import Foundation
import MinerIndex

/// The JSON documents of the read API, built from the index actors at request time. Encoders here do not cache
/// per-miner bytes: requests are rare next to broadcasts, and the broadcaster's caches stay its own.
///
/// A full index is encoded on `SnapshotEncodingQueue`'s thread, never on the cooperative pool that ingest needs.
/// It is built at request time rather than served from the last broadcast: the full-index exchanges carry a
/// keyframe only every `--keyframe-interval` (30 s), so its bytes could be that stale, and a standby broadcasts
/// nothing at all.
struct ReadAPI: Sendable {
    enum Failure: Error {
        case malformedID(String)
        case notFound(String)
        /// A query parameter that cannot be read, with the reason.
        case badQuery(String)
    }

    let indexes: MinerIndexes
    let histories: AggregatedHistories

    func index<Source: SnapshotSource>(_ source: Source) async -> [UInt8] {
        let snapshot = await source.snapshot()
        return await SnapshotEncodingQueue.run {
            var encoder = Self.encoder(for: source)
            return encoder.indexPayload(
                snapshot, aggregate: snapshot.aggregate(), sequence: snapshot.version, generatedAt: Timestamp(Date()))
        }
    }

    func aggregatedIndex<Source: SnapshotSource>(_ source: Source) async -> [UInt8] {
        let current = await source.versionedAggregate()
        return Self.encoder(for: source).aggregatedPayload(
            current.aggregate, sequence: current.version, generatedAt: Timestamp(Date()))
    }

    func miner<Source: SnapshotSource>(_ source: Source, _ idText: String) async throws(Failure) -> [UInt8] {
        let id = try parse(idText)
        let (miner, latest) = await (source.miner(id), source.entry(id))
        guard miner != nil || latest != nil else { throw .notFound("no \(Source.kind.label) miner with id \(id)") }
        return Self.encoder(for: source).minerDetailJSON(miner: miner, latest: latest)
    }

    func asicHistory(_ idText: String) async throws(Failure) -> [UInt8] {
        let id = try parse(idText)
        let entries = await indexes.asic.history(id, now: Timestamp(Date()))
        let known = await indexes.asic.miner(id) != nil
        guard known || !entries.isEmpty else { throw .notFound("no ASIC miner with id \(id)") }
        return AsicMinerHistoryEntry.historyJSON(asicMinerId: id, entries: entries)
    }

    private static func encoder<Source: SnapshotSource>(for _: Source) -> MinerPayloadEncoder<Source.Miner, Source.Log>
    {
        MinerPayloadEncoder(vocabulary: Source.vocabulary, cachesRecords: false)
    }

    /// `{"resolution": …, "since": …, "entries": [...]}` from `history`; `resolution` is tick, 1m or 1h, and
    /// `since` an ISO-8601 date-time (rows whose bucket starts at or after it).
    func aggregatedHistory(_ history: SharedAggregatedHistory, resolution: String?, since: String?) throws(Failure)
        -> [UInt8]
    {
        let choices = AggregatedHistoryResolution.allCases.map(\.rawValue).joined(separator: ", ")
        guard let resolution else { throw .badQuery("resolution is required: one of \(choices)") }
        guard let chosen = AggregatedHistoryResolution(rawValue: resolution) else {
            throw .badQuery("resolution '\(resolution.prefix(40))' is not one of \(choices)")
        }
        var start: Timestamp?
        if let since {
            guard let parsed = ISO8601Timestamp.parse(since) else {
                throw .badQuery("since '\(since.prefix(40))' is not an ISO-8601 date-time such as 2026-11-29T12:00:00Z")
            }
            start = parsed
        }
        return AggregatedHistoryJSON.encode(resolution: chosen, since: start, rows: history.rows(chosen, since: start))
    }

    private func parse(_ text: String) throws(Failure) -> Int64 {
        guard let id = Int64(text), id >= 0 else { throw .malformedID("'\(text.prefix(40))' is not a miner id") }
        return id
    }
}
