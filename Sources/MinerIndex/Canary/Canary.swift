/// An end-to-end check message: `{"id": "...", "sequence": N}` on `asic_miner.canary` or `cpu_gpu_miner.canary`.
///
/// It travels the input queue in order with the logs, is applied by the index of its kind like any other
/// command, and shows up in that index's aggregated payload under `"canaries"`, and nowhere else: it registers
/// no miner and adds to no total, so a load generator or an operator's health check can time the pipeline without
/// changing what the fleet figures say.
public struct Canary: Sendable, Hashable {
    /// Who sends it (one load-test run, one health checker); at most `DecodingLimits.maxStringBytes` bytes.
    public var id: String
    /// Increases with each canary of the same id; the payload keeps the highest seen.
    public var sequence: Int64

    public init(id: String, sequence: Int64) {
        self.id = id
        self.sequence = sequence
    }
}

/// A canary as an index holds it: with when the service received it, for a checker that wants the service's side
/// of the lag too.
public struct CanaryMark: Sendable, Hashable {
    public var id: String
    public var sequence: Int64
    public var receivedAt: Timestamp

    public init(id: String, sequence: Int64, receivedAt: Timestamp) {
        self.id = id
        self.sequence = sequence
        self.receivedAt = receivedAt
    }
}

/// The canaries an index reports: the latest of each id, for the `capacity` ids heard from most recently. Bounded,
/// so that a flood of invented ids costs a few hundred bytes of payload, not memory without end.
struct CanaryBoard: Sendable, Hashable {
    static let capacity = 8

    /// Most recently updated last.
    private(set) var marks: [CanaryMark] = []

    /// A sequence at or below the one held for the id (a redelivery) changes nothing.
    mutating func record(_ canary: Canary, receivedAt: Timestamp) -> ApplyOutcome {
        if let position = marks.firstIndex(where: { $0.id == canary.id }) {
            guard marks[position].sequence < canary.sequence else { return .ignoredOutOfOrder }
            marks.remove(at: position)
        } else if marks.count >= Self.capacity {
            marks.removeFirst()
        }
        marks.append(CanaryMark(id: canary.id, sequence: canary.sequence, receivedAt: receivedAt))
        return .applied
    }
}

/// The body of a canary message.
enum CanaryDecoding {
    private static let schema = JSONObjectSchema(keys: ["id", "sequence"])
    private static let id = schema.slot("id")
    private static let sequence = schema.slot("sequence")

    static func decode(json body: UnsafeRawBufferPointer, limits: DecodingLimits) throws(RecordDecodingError)
        -> Canary
    {
        try schema.withParsedObject(body, limits: limits) { (fields) throws(RecordDecodingError) in
            let id = try fields.requiredString(Self.id)
            guard !id.isEmpty else {
                throw RecordDecodingError(
                    field: "id", problem: .wrongType(expected: "a non-empty string", found: "\"\""))
            }
            return Canary(id: id, sequence: try fields.requiredIdentifier(Self.sequence))
        }
    }
}
