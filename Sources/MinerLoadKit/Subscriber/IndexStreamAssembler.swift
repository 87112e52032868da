import Foundation

/// The reference subscriber's logic, without I/O: it joins the parts of a message, applies keyframes and deltas
/// to the index it holds, notices gaps, and says when to ask for a keyframe (see the README's "Keyframes and
/// deltas").
///
/// Records are held as canonical JSON (keys sorted), one per miner id, so that the rebuilt index and a keyframe
/// compare byte for byte once both are laid out in id order (`canonicalIndex`).
public struct IndexStreamAssembler: Sendable {
    /// The JSON keys of one kind's payloads.
    public struct Keys: Sendable {
        public var minerMap: String
        public var operationalMap: String
        public var aggregated: String

        public static func of(_ kind: MinerKind) -> Keys {
            kind == .asic
                ? Keys(minerMap: "asic_miner_map", operationalMap: "asic_miner_operational_map",
                       aggregated: "asic_miner_aggregated_index")
                : Keys(minerMap: "cpu_gpu_miner_map", operationalMap: "cpu_gpu_miner_operational_map",
                       aggregated: "aggregated_index")
        }

        var removedMiners: String { "\(minerMap)_removed" }
        var removedLogs: String { "\(operationalMap)_removed" }
        var changedLogs: String { "\(operationalMap)_changed" }
    }

    /// The full index as the subscriber holds it.
    public struct Index: Sendable, Equatable {
        public var miners: [Int64: [UInt8]] = [:]
        public var logs: [Int64: [UInt8]] = [:]
        public var aggregated: [UInt8] = []
    }

    public enum Message: Sendable {
        case keyframe
        case delta
    }

    public enum Outcome: Sendable, Equatable {
        /// A part of a message whose other parts have not all arrived.
        case partial
        case keyframeApplied
        case deltaApplied
        /// A delta at or before the message last applied (queued before the keyframe that replaced it).
        case stale
        /// The subscriber holds no index it can apply this delta to (it joined late, or saw a gap): it must ask
        /// for a keyframe.
        case needsKeyframe
        /// Not a stream message: not JSON, or without the stamp.
        case unreadable(String)
    }

    /// What a keyframe that follows the last applied message said about the rebuilt index.
    public struct KeyframeCheck: Sendable, Equatable {
        public var sequence: UInt64
        public var matched: Bool
        /// The first difference, when not matched.
        public var difference: String?
    }

    public struct Counters: Sendable, Equatable {
        public var keyframes = 0
        public var deltas = 0
        /// Deltas that did not follow the last applied message, or that changed fields of a log not held.
        public var gaps = 0
        /// Messages that came in more than one part.
        public var splitMessages = 0
        public var largestMessagePart = 0
    }

    private struct Stamp {
        var sequence: UInt64
        var previousSequence: UInt64?
        var chain: String
        var part: Int
        var parts: Int
    }

    /// The parts of a message received so far, kept as bytes (parsed JSON is not Sendable) and parsed again
    /// once all are in.
    private struct Pending {
        var stamp: Stamp
        var parts: [Int: [UInt8]]
    }

    private struct Position {
        var chain: String
        var sequence: UInt64
    }

    let keys: Keys
    public private(set) var index: Index?
    private var position: Position?
    /// At most one message is being joined: a part of a later message drops it (its missing parts are lost).
    private var pending: Pending?
    public private(set) var counters = Counters()
    public private(set) var checks: [KeyframeCheck] = []

    public init(keys: Keys) {
        self.keys = keys
    }

    /// A subscriber that already holds `index`, as of message `sequence` of `chain`.
    init(keys: Keys, holding index: Index, sequence: UInt64, chain: String) {
        self.keys = keys
        self.index = index
        position = Position(chain: chain, sequence: sequence)
    }

    /// The sequence of the last message applied, or nil while the subscriber waits for a keyframe.
    public var sequence: UInt64? { position?.sequence }

    public mutating func receive(_ body: [UInt8], as message: Message) -> Outcome {
        counters.largestMessagePart = max(counters.largestMessagePart, body.count)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .unreadable("not a JSON object")
        }
        guard let stamp = Self.stamp(of: object) else { return .unreadable("no sequence, chain, part or parts") }
        let ordered: [[String: Any]]
        if stamp.parts == 1 {
            pending = nil
            ordered = [object]
        } else {
            var current = pending ?? Pending(stamp: stamp, parts: [:])
            if current.stamp.sequence != stamp.sequence || current.stamp.chain != stamp.chain {
                current = Pending(stamp: stamp, parts: [:])
            }
            current.parts[stamp.part] = body
            guard current.parts.count >= stamp.parts else {
                pending = current
                return .partial
            }
            pending = nil
            counters.splitMessages += 1
            ordered = (1...stamp.parts).compactMap { number in
                current.parts[number].flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
            }
            guard ordered.count == stamp.parts else { return .unreadable("parts not numbered 1...\(stamp.parts)") }
        }
        switch message {
        case .keyframe: return applyKeyframe(ordered, stamp: stamp)
        case .delta: return applyDelta(ordered, stamp: stamp)
        }
    }

    private mutating func applyKeyframe(_ parts: [[String: Any]], stamp: Stamp) -> Outcome {
        var keyframe = Index()
        for part in parts { merge(part, into: &keyframe) }
        counters.keyframes += 1
        if let position, let index, position.chain == stamp.chain, stamp.previousSequence == position.sequence {
            checks.append(
                KeyframeCheck(
                    sequence: stamp.sequence, matched: index == keyframe,
                    difference: Self.firstDifference(index, keyframe, keys: keys)))
        }
        index = keyframe
        position = Position(chain: stamp.chain, sequence: stamp.sequence)
        return .keyframeApplied
    }

    private mutating func applyDelta(_ parts: [[String: Any]], stamp: Stamp) -> Outcome {
        guard var current = index, let position else { return .needsKeyframe }
        guard position.chain == stamp.chain, stamp.previousSequence == position.sequence else {
            // A delta older than what we hold (it was in the queue before the keyframe we applied) is skipped.
            if position.chain == stamp.chain, stamp.sequence <= position.sequence { return .stale }
            counters.gaps += 1
            index = nil
            self.position = nil
            return .needsKeyframe
        }
        for part in parts {
            for id in Self.ids(part[keys.removedMiners]) { current.miners[id] = nil }
            for id in Self.ids(part[keys.removedLogs]) { current.logs[id] = nil }
            merge(part, into: &current)
        }
        // Changed fields apply to logs the subscriber holds; one it does not hold means it missed something.
        for part in parts {
            guard let changed = part[keys.changedLogs] as? [String: Any] else { continue }
            for (key, fields) in changed {
                guard let id = Int64(key), let fields = fields as? [String: Any], let held = current.logs[id],
                    var record = (try? JSONSerialization.jsonObject(with: Data(held))) as? [String: Any]
                else {
                    counters.gaps += 1
                    index = nil
                    self.position = nil
                    return .needsKeyframe
                }
                record.merge(fields) { _, new in new }
                current.logs[id] = Self.canonical(record)
            }
        }
        counters.deltas += 1
        index = current
        self.position = Position(chain: stamp.chain, sequence: stamp.sequence)
        return .deltaApplied
    }

    private func merge(_ part: [String: Any], into index: inout Index) {
        for (id, record) in Self.records(part[keys.minerMap]) { index.miners[id] = record }
        for (id, record) in Self.records(part[keys.operationalMap]) { index.logs[id] = record }
        if let aggregated = part[keys.aggregated] { index.aggregated = Self.canonical(aggregated) }
    }

    /// The index as one JSON document: the three objects of a keyframe, ids in ascending order, every object's
    /// keys sorted.
    public func canonicalIndex() -> [UInt8]? {
        index.map { Self.canonicalDocument($0, keys: keys) }
    }

    static func canonicalDocument(_ index: Index, keys: Keys) -> [UInt8] {
        var bytes: [UInt8] = []
        func map(_ key: String, _ records: [Int64: [UInt8]]) {
            bytes += Array("\"\(key)\":{".utf8)
            for (offset, id) in records.keys.sorted().enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                bytes += Array("\"\(id)\":".utf8)
                bytes += records[id] ?? []
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "{"))
        bytes += Array("\"\(keys.aggregated)\":".utf8)
        bytes += index.aggregated
        bytes.append(UInt8(ascii: ","))
        map(keys.minerMap, index.miners)
        bytes.append(UInt8(ascii: ","))
        map(keys.operationalMap, index.logs)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private static func firstDifference(_ held: Index, _ keyframe: Index, keys: Keys) -> String? {
        guard held != keyframe else { return nil }
        if held.aggregated != keyframe.aggregated {
            return "\(keys.aggregated) differs: rebuilt \(String(decoding: held.aggregated, as: UTF8.self))"
                + " keyframe \(String(decoding: keyframe.aggregated, as: UTF8.self))"
        }
        for (name, rebuilt, fresh) in [(keys.minerMap, held.miners, keyframe.miners),
                                       (keys.operationalMap, held.logs, keyframe.logs)] {
            let ids = Set(rebuilt.keys).union(fresh.keys).sorted()
            if let id = ids.first(where: { rebuilt[$0] != fresh[$0] }) {
                return "\(name)[\(id)] differs: rebuilt \(rebuilt[id].map { String(decoding: $0, as: UTF8.self) } ?? "absent")"
                    + " keyframe \(fresh[id].map { String(decoding: $0, as: UTF8.self) } ?? "absent")"
            }
        }
        return "differs"
    }

    private static func stamp(of object: [String: Any]) -> Stamp? {
        guard let sequence = unsigned(object["sequence"]), let chain = object["chain"] as? String,
            let part = unsigned(object["part"]), let parts = unsigned(object["parts"]),
            part >= 1, part <= parts, parts <= 1_000_000
        else { return nil }
        return Stamp(
            sequence: sequence, previousSequence: unsigned(object["previous_sequence"]), chain: chain,
            part: Int(part), parts: Int(parts))
    }

    private static func unsigned(_ value: Any?) -> UInt64? {
        // Untrusted input: only a whole, non-negative number that fits is a sequence.
        guard let number = value as? NSNumber, UInt64(exactly: number.doubleValue) != nil else { return nil }
        return number.uint64Value
    }

    private static func ids(_ value: Any?) -> [Int64] {
        (value as? [Any])?.compactMap { ($0 as? NSNumber)?.int64Value } ?? []
    }

    private static func records(_ value: Any?) -> [(Int64, [UInt8])] {
        guard let map = value as? [String: Any] else { return [] }
        return map.compactMap { key, record in Int64(key).map { ($0, canonical(record)) } }
    }

    static func canonical(_ value: Any) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        CanonicalJSON.write(value, to: &bytes)
        return bytes
    }
}

/// Parsed JSON written back with every object's keys in byte order: two equal documents give equal bytes,
/// whatever their key order. Written by hand because Foundation's `.sortedKeys` compares keys as localized
/// strings, which made the reference subscriber spend more CPU than the load it verifies (a chaos run's miner-load
/// stalled its own publishing for seconds while it canonicalized a keyframe).
enum CanonicalJSON {
    static func write(_ value: Any, to bytes: inout [UInt8]) {
        switch value {
        case let object as [String: Any]:
            bytes.append(UInt8(ascii: "{"))
            for (offset, entry) in object.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(entry.key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                write(entry.value, to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        case let array as [Any]:
            bytes.append(UInt8(ascii: "["))
            for (offset, element) in array.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case let string as String:
            writeString(string, to: &bytes)
        case let number as NSNumber:
            bytes += Array(numberText(number).utf8)
        case is NSNull:
            bytes += Array("null".utf8)
        default:
            bytes += Array("\(value)".utf8)
        }
    }

    /// JSONSerialization gives booleans as NSNumbers of type char, integers as integer types, the rest as double.
    private static func numberText(_ number: NSNumber) -> String {
        switch UInt8(bitPattern: number.objCType.pointee) {
        case UInt8(ascii: "c"): return number.boolValue ? "true" : "false"
        case UInt8(ascii: "f"), UInt8(ascii: "d"): return "\(number.doubleValue)"
        case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"):
            return "\(number.uint64Value)"
        default: return "\(number.int64Value)"
        }
    }

    private static func writeString(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                bytes += Array("\\u00".utf8) + [hexDigit(byte >> 4), hexDigit(byte & 0xF)]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
