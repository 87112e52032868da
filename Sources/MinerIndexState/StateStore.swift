import MinerIndex

/// Why a store could not do what it was asked. `kind` decides what the service does about it.
public struct StateStoreError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The file or database is damaged or not ours; its content cannot be trusted.
        case corrupt
        /// Written by a newer miner-index, whose schema this binary does not know.
        case newerSchema
        /// Another instance holds the store.
        case lockedByAnotherInstance
        /// Anything that may pass: disk full, read-only, a lost connection, a busy lock.
        case unavailable
        /// Another instance became the leader (a higher epoch is stored): this one must stop writing for good.
        case deposed
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// A registry row as stored: the record's JSON (never holding `api_code`, which the records do not have), or a
/// tombstone for a deleted miner, with the store-wide change number of the transaction that wrote it.
public struct StoredRegistryRow: Sendable {
    public let kind: MinerKind
    public let id: Int64
    public let change: Int64
    /// nil: deleted.
    public let record: [UInt8]?

    public init(kind: MinerKind, id: Int64, change: Int64, record: [UInt8]?) {
        self.kind = kind
        self.id = id
        self.change = change
        self.record = record
    }
}

/// One segment of logs or history entries as stored (see `Segment`).
public struct StoredSegment: Sendable {
    public let kind: MinerKind
    public let change: Int64
    public let newestObservedAt: Timestamp
    public let body: [UInt8]

    public init(kind: MinerKind, change: Int64, newestObservedAt: Timestamp, body: [UInt8]) {
        self.kind = kind
        self.change = change
        self.newestObservedAt = newestObservedAt
        self.body = body
    }
}

/// One aggregated-history row as stored (see `AggregatedHistoryCoding`), keyed by kind, resolution and bucket.
public struct StoredHistoryRow: Sendable {
    public let kind: MinerKind
    /// `tick`, `1m` or `1h`.
    public let resolution: String
    public let bucketStart: Timestamp
    public let body: [UInt8]

    public init(kind: MinerKind, resolution: String, bucketStart: Timestamp, body: [UInt8]) {
        self.kind = kind
        self.resolution = resolution
        self.bucketStart = bucketStart
        self.body = body
    }
}

/// What a store holds, as read at one moment.
public struct StoredState: Sendable {
    /// The aggregated figures over time, for the charts.
    public var aggregatedHistory: [StoredHistoryRow] = []
    public var registry: [StoredRegistryRow] = []
    /// Oldest first.
    public var logSegments: [StoredSegment] = []
    public var counters: [String: Int64] = [:]
    /// The highest change number read; asking for changes above it gives what was written since.
    public var mark: Int64 = 0

    public init() {}
}

/// One transaction's worth of writes.
public struct StoreWrite: Sendable {
    public struct RegistryRow: Sendable {
        public let kind: MinerKind
        public let id: Int64
        /// nil: a tombstone.
        public let record: [UInt8]?

        public init(kind: MinerKind, id: Int64, record: [UInt8]?) {
            self.kind = kind
            self.id = id
            self.record = record
        }
    }

    public struct NewSegment: Sendable {
        public let kind: MinerKind
        public let newestObservedAt: Timestamp
        public let body: [UInt8]
        /// Lets the writer drop a segment once every entry in it has been written again in a later one.
        public let minerIds: [Int64]

        public init(kind: MinerKind, newestObservedAt: Timestamp, body: [UInt8], minerIds: [Int64]) {
            self.kind = kind
            self.newestObservedAt = newestObservedAt
            self.body = body
            self.minerIds = minerIds
        }
    }

    /// When the writer made this write, by its clock; tombstones remember it.
    public var writtenAt = Timestamp(microsecondsSinceEpoch: 0)
    public var registry: [RegistryRow] = []
    /// Upserted by (kind, resolution, bucket start).
    public var aggregatedHistory: [StoredHistoryRow] = []
    /// Aggregated-history rows of a resolution starting before its cutoff have aged out.
    public var dropAggregatedHistoryBefore: [String: Timestamp] = [:]
    public var logSegments: [NewSegment] = []
    public var historySegments: [NewSegment] = []
    /// Raised to these values; a counter never goes down.
    public var counters: [String: Int64] = [:]
    /// Log segments whose every entry was observed before this are of no use to a restore.
    public var dropLogSegmentsObservedBefore: Timestamp?
    public var dropHistorySegmentsObservedBefore: Timestamp?
    /// Log segments whose every entry was written again since, by change number.
    public var dropLogSegments: [Int64] = []
    /// Tombstones older than this and than every remaining segment can go.
    public var dropTombstonesBefore: Timestamp?

    public init() {}

    /// Registry rows change what a restart sees for good, so their transaction waits for the disk.
    public var needsDurableCommit: Bool { !registry.isEmpty }

    public var isEmpty: Bool {
        registry.isEmpty && logSegments.isEmpty && historySegments.isEmpty && counters.isEmpty
            && dropLogSegments.isEmpty && aggregatedHistory.isEmpty
    }
}

/// The change numbers a transaction gave the segments it wrote, in the order they were given.
public struct WriteReceipt: Sendable {
    public var logSegmentChanges: [Int64] = []

    public init(logSegmentChanges: [Int64] = []) {
        self.logSegmentChanges = logSegmentChanges
    }
}

/// A place where the index's state survives the process. Backends implement it; `StateWriter` and `StateRestore`
/// hold the rules they share (ordering, retries, what a restart reads back), so that every backend keeps the
/// same promises.
public protocol StateStore: Sendable {
    /// Where the store is, with any password redacted, for logs.
    var location: String { get }

    /// Reads the registry, the log segments whose newest entry was observed at or after `logsSince`, and the
    /// counters: what the first snapshot after a restart needs.
    func load(logsSince: Timestamp) async throws(StateStoreError) -> StoredState

    /// Reads the history segments whose newest entry was observed at or after `since`, oldest first. Read after
    /// ingest has started, because the history is large and no snapshot waits for it.
    func loadHistory(since: Timestamp) async throws(StateStoreError) -> [StoredSegment]

    /// Writes everything in one transaction; durable on return when `write.needsDurableCommit`.
    func write(_ write: StoreWrite) async throws(StateStoreError) -> WriteReceipt

    func close() async
}

/// What was written to a shared store after a given change number, for a standby's incremental refresh.
public struct StoredChanges: Sendable {
    public var registry: [StoredRegistryRow] = []
    /// Oldest first.
    public var logSegments: [StoredSegment] = []
    /// Oldest first.
    public var historySegments: [StoredSegment] = []
    /// Every counter as it is now (sequence reservations, the leader epoch).
    public var counters: [String: Int64] = [:]
    /// The highest change number read; the next refresh asks for what comes after it.
    public var mark: Int64

    public init(mark: Int64) {
        self.mark = mark
    }

    public var isEmpty: Bool { registry.isEmpty && logSegments.isEmpty && historySegments.isEmpty }
}

/// A store that several instances share: one leader writes, the others follow it.
public protocol SharedStateStore: StateStore {
    /// Everything written after change number `mark`, in one consistent read.
    func changes(since mark: Int64) async throws(StateStoreError) -> StoredChanges

    /// Raises the stored leader epoch by one and returns it. From then on this store's writes check it, so a write
    /// by an instance that was leader under an older epoch fails with `.deposed` instead of overwriting anything.
    func beginLeadership() async throws(StateStoreError) -> Int64

    /// Stops fencing writes: this instance no longer leads.
    func endLeadership()
}
