import MinerIndex

/// Ways to spoil a message, each one a kind of input the service must dead-letter rather than apply: a good log
/// of a real miner with exactly one defect, so a miner's state never changes through a bad message.
public enum MalformedMessage: String, Sendable, CaseIterable, Codable {
    case truncatedJSON = "truncated_json"
    case notAnObject = "not_an_object"
    case missingRequiredField = "missing_required_field"
    case wrongType = "wrong_type"
    case negativeNumber = "negative_number"
    case unknownHashrateUnit = "unknown_hashrate_unit"
    case stringTooLong = "string_too_long"
    case partialCoinGroup = "partial_coin_group"
    case unknownRoutingKey = "unknown_routing_key"

    /// The routing key and body to publish instead of the good log.
    public func spoil(_ goodBody: [UInt8], kind: MinerKind) -> (routingKey: String, body: [UInt8]) {
        let asic = kind == .asic
        switch self {
        case .truncatedJSON:
            return (kind.logRoutingKey, Array(goodBody.prefix(goodBody.count / 2)))
        case .notAnObject:
            return (kind.logRoutingKey, Array("[\(asic ? "\"asic_miner.log\"" : "\"cpu_gpu_miner.log\""), 1, 2]".utf8))
        case .missingRequiredField:
            return (
                kind.logRoutingKey,
                JSONBodyEditing.removing(key: asic ? "hashrate_uom" : "cpu_gpu_miner_id", from: goodBody)
            )
        case .wrongType:
            return (
                kind.logRoutingKey,
                JSONBodyEditing.replacing(key: asic ? "power" : "cpu_temp", with: "\"hot\"", in: goodBody)
            )
        case .negativeNumber:
            return (
                kind.logRoutingKey,
                JSONBodyEditing.replacing(key: asic ? "power" : "gpu_1_power", with: "-120", in: goodBody)
            )
        case .unknownHashrateUnit:
            return (
                kind.logRoutingKey,
                JSONBodyEditing.replacing(
                    key: asic ? "hashrate_uom" : "gpu_hashrate_uom_1", with: "\"ZH/s\"", in: goodBody)
            )
        case .stringTooLong:
            let long = "\"" + String(repeating: "x", count: 300) + "\""
            return (
                kind.logRoutingKey,
                JSONBodyEditing.replacing(key: asic ? "pool_1_user" : "lan_ip", with: long, in: goodBody)
            )
        case .partialCoinGroup:
            // ASIC logs have no coin group, so their equivalent is a missing coin name.
            return (
                kind.logRoutingKey,
                JSONBodyEditing.removing(key: asic ? "coin_name" : "gpu_algorithm_1", from: goodBody)
            )
        case .unknownRoutingKey:
            return (kind.unknownRoutingKey, goodBody)
        }
    }
}

/// Byte-level edits of the flat JSON objects `JSONBodyWriter` writes, whose values never contain a comma or a
/// closing brace.
enum JSONBodyEditing {
    static func replacing(key: String, with valueText: String, in body: [UInt8]) -> [UInt8] {
        guard let (valueStart, valueEnd) = valueRange(of: key, in: body) else { return body }
        return Array(body[..<valueStart]) + Array(valueText.utf8) + Array(body[valueEnd...])
    }

    static func removing(key: String, from body: [UInt8]) -> [UInt8] {
        let needle = Array("\"\(key)\":".utf8)
        guard let keyStart = firstIndex(of: needle, in: body),
            let (_, valueEnd) = valueRange(of: key, in: body)
        else { return body }
        if valueEnd < body.count, body[valueEnd] == UInt8(ascii: ",") {
            return Array(body[..<keyStart]) + Array(body[(valueEnd + 1)...])
        }
        // Last member: drop the comma before it instead.
        let start = keyStart > 1 && body[keyStart - 1] == UInt8(ascii: ",") ? keyStart - 1 : keyStart
        return Array(body[..<start]) + Array(body[valueEnd...])
    }

    private static func valueRange(of key: String, in body: [UInt8]) -> (Int, Int)? {
        let needle = Array("\"\(key)\":".utf8)
        guard let keyStart = firstIndex(of: needle, in: body) else { return nil }
        let valueStart = keyStart + needle.count
        var valueEnd = valueStart
        var inString = false
        while valueEnd < body.count {
            let byte = body[valueEnd]
            if byte == UInt8(ascii: "\"") { inString.toggle() }
            if !inString, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") { break }
            valueEnd += 1
        }
        return (valueStart, valueEnd)
    }

    private static func firstIndex(of needle: [UInt8], in body: [UInt8]) -> Int? {
        guard body.count >= needle.count else { return nil }
        var index = 0
        while index <= body.count - needle.count {
            if body[index] == needle[0], body[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
