import Foundation
import MinerIndex

/// The reference subscriber's logic, without I/O: it joins the parts of a message, applies keyframes and deltas
/// to the index it holds, notices gaps, and says when to ask for a keyframe (see the README's "Keyframes and
/// deltas").
///
/// Records are held as the bytes the service wrote, one per miner id, and read with `RawJSON` (ranges, not
/// objects). A delta's changed fields are spliced into the held log in place: the service writes every field of a
/// log, absent ones as null, always in the same order, so a log rebuilt from a keyframe and its deltas equals the
/// next keyframe's byte for byte when the protocol works. Records whose bytes differ are compared once more as
/// canonical JSON (keys sorted), so that only a difference in meaning fails the check.
public struct IndexStreamAssembler: Sendable {
    /// The JSON keys of one kind's payloads.
    public struct Keys: Sendable {
        public var minerMap: String
        public var operationalMap: String
        public var aggregated: String

        public static func of(_ kind: MinerKind) -> Keys {
            kind == .asic
                ? Keys(
                    minerMap: "asic_miner_map", operationalMap: "asic_miner_operational_map",
                    aggregated: "asic_miner_aggregated_index")
                : Keys(
                    minerMap: "cpu_gpu_miner_map", operationalMap: "cpu_gpu_miner_operational_map",
                    aggregated: "aggregated_index")
        }

        var removedMiners: String { "\(minerMap)_removed" }
        var removedLogs: String { "\(operationalMap)_removed" }
        var changedLogs: String { "\(operationalMap)_changed" }
    }

    /// The full index as the subscriber holds it: each record and the aggregated object as written.
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
        /// Bytes of every part received, keyframes and deltas.
        public var bytes = 0
    }

    private struct Stamp {
        var sequence: UInt64
        var previousSequence: UInt64?
        var previousDeltaSequence: UInt64?
        var chain: String
        var part: Int
        var parts: Int
    }

    /// The parts of a message received so far.
    private struct Pending {
        var stamp: Stamp
        var parts: [Int: RawJSON]
    }

    private struct Position {
        var chain: String
        var sequence: UInt64
        /// For a keyframe that continued its chain, the delta (or base keyframe) whose state it repeats.
        var sameStateAs: UInt64? = nil

        /// Whether a delta of this chain applies to the state held: it names the message applied last, or (past
        /// keyframes this subscriber did not take) the last delta, whose state that message holds.
        func isFollowed(by stamp: Stamp) -> Bool {
            guard stamp.chain == chain else { return false }
            if stamp.previousSequence == sequence { return true }
            guard let previousDelta = stamp.previousDeltaSequence else { return false }
            return previousDelta == sequence || previousDelta == sameStateAs
        }
    }

    /// One part, read: the document and its top-level members by key.
    private struct Part {
        var json: RawJSON
        var members: [String: Range<Int>]
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
        self.init(keys: keys)
        self.index = index
        position = Position(chain: chain, sequence: sequence)
    }

    /// The sequence of the last message applied, or nil while the subscriber waits for a keyframe.
    public var sequence: UInt64? { position?.sequence }

    public mutating func receive(_ body: [UInt8], as message: Message) -> Outcome {
        counters.largestMessagePart = max(counters.largestMessagePart, body.count)
        counters.bytes += body.count
        let json = RawJSON(body)
        guard let document = json.document(), let part = Self.read(json, document) else {
            return .unreadable("not a JSON object")
        }
        guard let stamp = Self.stamp(of: part) else { return .unreadable("no sequence, chain, part or parts") }
        let ordered: [Part]
        if stamp.parts == 1 {
            pending = nil
            ordered = [part]
        } else {
            var current = pending ?? Pending(stamp: stamp, parts: [:])
            if current.stamp.sequence != stamp.sequence || current.stamp.chain != stamp.chain {
                current = Pending(stamp: stamp, parts: [:])
            }
            current.parts[stamp.part] = json
            guard current.parts.count >= stamp.parts else {
                pending = current
                return .partial
            }
            pending = nil
            counters.splitMessages += 1
            ordered = (1...stamp.parts).compactMap { number in
                current.parts[number].flatMap { json in json.document().flatMap { Self.read(json, $0) } }
            }
            guard ordered.count == stamp.parts else { return .unreadable("parts not numbered 1...\(stamp.parts)") }
        }
        switch message {
        case .keyframe: return applyKeyframe(ordered, stamp: stamp)
        case .delta: return applyDelta(ordered, stamp: stamp)
        }
    }

    private static func read(_ json: RawJSON, _ document: Range<Int>) -> Part? {
        var members: [String: Range<Int>] = [:]
        let complete = json.forEachMember(of: document) { member in
            members[String(decoding: json.bytes[member.key], as: UTF8.self)] = member.value
        }
        return complete ? Part(json: json, members: members) : nil
    }

    private mutating func applyKeyframe(_ parts: [Part], stamp: Stamp) -> Outcome {
        var keyframe = Index()
        for part in parts { merge(part, into: &keyframe) }
        counters.keyframes += 1
        if let position, let index, position.chain == stamp.chain, stamp.previousSequence == position.sequence {
            let difference = Self.firstDifference(index, keyframe, keys: keys)
            checks.append(KeyframeCheck(sequence: stamp.sequence, matched: difference == nil, difference: difference))
        }
        index = keyframe
        position = Position(
            chain: stamp.chain, sequence: stamp.sequence,
            sameStateAs: stamp.previousDeltaSequence ?? stamp.previousSequence)
        return .keyframeApplied
    }

    private mutating func applyDelta(_ parts: [Part], stamp: Stamp) -> Outcome {
        guard var current = index, let position else { return .needsKeyframe }
        guard position.isFollowed(by: stamp) else {
            // A delta older than what we hold (it was in the queue before the keyframe we applied) is skipped.
            if position.chain == stamp.chain, stamp.sequence <= position.sequence { return .stale }
            return lostTrack()
        }
        // Held until the whole delta has been read: one part that cannot be applied drops the index, not half of it.
        index = nil
        for part in parts {
            for id in Self.ids(part.members[keys.removedMiners], in: part.json) { current.miners[id] = nil }
            for id in Self.ids(part.members[keys.removedLogs], in: part.json) { current.logs[id] = nil }
            merge(part, into: &current)
        }
        // Changed fields apply to logs the subscriber holds; one it does not hold means it missed something.
        for part in parts {
            guard let changed = part.members[keys.changedLogs] else { continue }
            var missed = false
            let complete = part.json.forEachMember(of: changed) { member in
                guard !missed, let id = part.json.integer(member.key), let held = current.logs[id],
                    let merged = Self.splice(part.json, fields: member.value, into: held)
                else {
                    missed = true
                    return
                }
                current.logs[id] = merged
            }
            if missed || !complete { return lostTrack() }
        }
        counters.deltas += 1
        index = current
        self.position = Position(chain: stamp.chain, sequence: stamp.sequence)
        return .deltaApplied
    }

    private mutating func lostTrack() -> Outcome {
        counters.gaps += 1
        index = nil
        position = nil
        return .needsKeyframe
    }

    private func merge(_ part: Part, into index: inout Index) {
        Self.records(part.members[keys.minerMap], in: part.json) { index.miners[$0] = $1 }
        Self.records(part.members[keys.operationalMap], in: part.json) { index.logs[$0] = $1 }
        if let aggregated = part.members[keys.aggregated] { index.aggregated = Array(part.json.bytes[aggregated]) }
    }

    /// `held` with the value of each member of the object at `fields` put in place of the held value of the same
    /// key, or, for a key the record does not have, added at its end. Nil if either is not an object.
    static func splice(_ source: RawJSON, fields: Range<Int>, into held: [UInt8]) -> [UInt8]? {
        guard let changes = source.members(of: fields) else { return nil }
        if changes.isEmpty { return held }
        let record = RawJSON(held)
        guard let document = record.document() else { return nil }
        var applied = [Bool](repeating: false, count: changes.count)
        var result: [UInt8] = []
        result.reserveCapacity(held.count + 64)
        var copiedUpTo = document.lowerBound
        result.append(contentsOf: held[..<copiedUpTo])
        let complete = record.forEachMember(of: document) { member in
            guard let change = changes.firstIndex(where: { source.bytes[$0.key].elementsEqual(held[member.key]) })
            else { return }
            applied[change] = true
            result.append(contentsOf: held[copiedUpTo..<member.value.lowerBound])
            result.append(contentsOf: source.bytes[changes[change].value])
            copiedUpTo = member.value.upperBound
        }
        guard complete else { return nil }
        // Up to the closing brace, then any key the record lacked.
        let closing = document.upperBound - 1
        result.append(contentsOf: held[copiedUpTo..<closing])
        var hasMembers = record.skipWhitespace(document.lowerBound + 1) < closing
        for (offset, change) in changes.enumerated() where !applied[offset] {
            if hasMembers { result.append(UInt8(ascii: ",")) }
            hasMembers = true
            result.append(UInt8(ascii: "\""))
            result.append(contentsOf: source.bytes[change.key])
            result.append(contentsOf: Array("\":".utf8))
            result.append(contentsOf: source.bytes[change.value])
        }
        result.append(contentsOf: held[closing...])
        return result
    }

    /// The index as one JSON document: the three objects of a keyframe, ids in ascending order, each record as
    /// written.
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

    /// Nil when equal: every record's bytes equal, or, where they differ, equal once both are canonical.
    private static func firstDifference(_ held: Index, _ keyframe: Index, keys: Keys) -> String? {
        if !sameMeaning(held.aggregated, keyframe.aggregated) {
            return "\(keys.aggregated) differs: rebuilt \(String(decoding: held.aggregated, as: UTF8.self))"
                + " keyframe \(String(decoding: keyframe.aggregated, as: UTF8.self))"
        }
        for (name, rebuilt, fresh) in [
            (keys.minerMap, held.miners, keyframe.miners),
            (keys.operationalMap, held.logs, keyframe.logs),
        ] where rebuilt != fresh {
            let ids = Set(rebuilt.keys).union(fresh.keys).sorted()
            let differing = ids.first { id in
                guard let mine = rebuilt[id], let theirs = fresh[id] else { return true }
                return !sameMeaning(mine, theirs)
            }
            if let id = differing {
                return
                    "\(name)[\(id)] differs: rebuilt \(rebuilt[id].map { String(decoding: $0, as: UTF8.self) } ?? "absent")"
                    + " keyframe \(fresh[id].map { String(decoding: $0, as: UTF8.self) } ?? "absent")"
            }
        }
        return nil
    }

    private static func sameMeaning(_ one: [UInt8], _ other: [UInt8]) -> Bool {
        if one == other { return true }
        guard let first = try? JSONSerialization.jsonObject(with: Data(one), options: [.fragmentsAllowed]),
            let second = try? JSONSerialization.jsonObject(with: Data(other), options: [.fragmentsAllowed])
        else { return false }
        return canonical(first) == canonical(second)
    }

    private static func stamp(of part: Part) -> Stamp? {
        let json = part.json
        guard let sequence = part.members["sequence"].flatMap(json.unsigned),
            let chain = part.members["chain"].flatMap(json.plainString),
            let number = part.members["part"].flatMap(json.unsigned),
            let parts = part.members["parts"].flatMap(json.unsigned),
            number >= 1, number <= parts, parts <= 1_000_000
        else { return nil }
        return Stamp(
            sequence: sequence, previousSequence: part.members["previous_sequence"].flatMap(json.unsigned),
            previousDeltaSequence: part.members["previous_delta_sequence"].flatMap(json.unsigned), chain: chain,
            part: Int(number), parts: Int(parts))
    }

    private static func ids(_ range: Range<Int>?, in json: RawJSON) -> [Int64] {
        guard let range, let elements = json.elements(of: range) else { return [] }
        return elements.compactMap(json.integer)
    }

    private static func records(_ range: Range<Int>?, in json: RawJSON, _ body: (Int64, [UInt8]) -> Void) {
        guard let range else { return }
        json.forEachMember(of: range) { member in
            if let id = json.integer(member.key) { body(id, Array(json.bytes[member.value])) }
        }
    }

    static func canonical(_ value: Any) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        CanonicalJSON.write(value, to: &bytes)
        return bytes
    }
}

/// Parsed JSON written back with every object's keys in byte order: two equal documents give equal bytes,
/// whatever their key order. Used only for records whose bytes differ; written by hand because Foundation's
/// `.sortedKeys` compares keys as localized strings.
enum CanonicalJSON {
    static func write(_ value: Any, to bytes: inout [UInt8]) {
        switch value {
        case let object as [String: Any]:
            bytes.append(UInt8(ascii: "{"))
            for (offset, entry) in object.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
                .enumerated()
            {
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
