/// Why a message was rejected: the field at fault and what is wrong with it. The description reads as
/// `field: problem`, e.g. `hashrate_uom: unknown unit 'ZH/s'`, so it can go straight into a log line.
public struct RecordDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Problem: Sendable, Hashable {
        case bodyTooLarge(size: Int, limit: Int)
        case invalidJSON
        case notAnObject
        case missingRequiredField
        case wrongType(expected: String, found: String)
        case notFiniteNonNegative
        /// Finite but beyond what the totals can carry (see `DecodingLimits.largestMeasure`).
        case tooLarge(maximum: Double, unit: String)
        case notAnInteger
        case unknownHashrateUnit(String)
        case unknownFanUnit(String)
        /// `field` is missing while `presentField`, of the same all-or-nothing group, is present.
        case partialGroup(presentField: String)
        case stringTooLong(length: Int, limit: Int)
        case invalidTimestamp
        case unknownRoutingKey(String)
    }

    public var field: String
    public var problem: Problem

    public init(field: String, problem: Problem) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problemDescription)" }

    private var problemDescription: String {
        switch problem {
        case let .bodyTooLarge(size, limit): "\(size) bytes exceeds the \(limit)-byte limit"
        case .invalidJSON: "not valid JSON"
        case .notAnObject: "not a JSON object"
        case .missingRequiredField: "missing required field"
        case let .wrongType(expected, found): "expected \(expected), found \(found)"
        case .notFiniteNonNegative: "must be a finite non-negative number"
        case let .tooLarge(maximum, unit): "must be at most \(maximum)\(unit.isEmpty ? "" : " " + unit)"
        case .notAnInteger: "must be a non-negative integer that fits in 64 bits"
        case let .unknownHashrateUnit(unit): "unknown unit '\(Self.excerpt(unit))'"
        case let .unknownFanUnit(unit): "unknown fan unit '\(Self.excerpt(unit))' (expected % or RPM)"
        case let .partialGroup(presentField): "missing while \(presentField) is present (the group is all or nothing)"
        case let .stringTooLong(length, limit): "string of \(length) bytes exceeds the \(limit)-byte limit"
        case .invalidTimestamp: "not an ISO-8601 timestamp"
        case let .unknownRoutingKey(key): "unknown routing key '\(Self.excerpt(key))'"
        }
    }

    /// Keeps hostile input from turning one error message into a flood in the logs.
    private static func excerpt(_ text: String) -> String {
        text.utf8.count <= 40 ? text : String(text.prefix(40)) + "…"
    }
}
