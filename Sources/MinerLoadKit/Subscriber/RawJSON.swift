/// Reads the structure of a JSON document without building it: the members of an object and the elements of an
/// array as byte ranges of the document, so that a record can be kept, compared and spliced as the bytes the
/// service wrote.
///
/// The reference subscriber rebuilds a 100k-miner index from keyframes of about a hundred megabytes and from
/// deltas of tens of thousands of changed logs a second. Parsed into Foundation objects and written back in a
/// canonical form, that cost more CPU than the load it verifies; ranges cost one pass over the bytes.
///
/// Only the structure is checked (where strings and values end, that brackets match, commas and colons between
/// members); scalars are taken as written. Anything malformed ends the scan with `nil` or `false`, never a trap.
struct RawJSON {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// One member of an object: the key's bytes between the quotes, as written (escapes not decoded), and the
    /// value's range.
    struct Member {
        var key: Range<Int>
        var value: Range<Int>
    }

    /// The document without the whitespace around it, not yet checked: `members(of:)` and `elements(of:)` check
    /// what they read, so a document is scanned once, not once to check it and again to read it.
    func document() -> Range<Int>? {
        let start = skipWhitespace(0)
        var end = bytes.count
        while end > start, Self.isWhitespace(bytes[end - 1]) { end -= 1 }
        return start < end ? start..<end : nil
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\t")
    }

    /// The members of the object at `range`, in order; nil if it is not an object.
    func members(of range: Range<Int>) -> [Member]? {
        var members: [Member] = []
        let complete = forEachMember(of: range) { members.append($0) }
        return complete ? members : nil
    }

    /// Calls `body` for each member of the object at `range`, in order. False if it is not a well-formed object.
    @discardableResult
    func forEachMember(of range: Range<Int>, _ body: (Member) -> Void) -> Bool {
        guard range.lowerBound < range.upperBound, bytes[range.lowerBound] == UInt8(ascii: "{") else { return false }
        var position = skipWhitespace(range.lowerBound + 1)
        if position < range.upperBound, bytes[position] == UInt8(ascii: "}") { return position + 1 == range.upperBound }
        while position < range.upperBound {
            guard bytes[position] == UInt8(ascii: "\""), let keyEnd = stringEnd(from: position) else { return false }
            let key = (position + 1)..<(keyEnd - 1)
            position = skipWhitespace(keyEnd)
            guard position < range.upperBound, bytes[position] == UInt8(ascii: ":") else { return false }
            let valueStart = skipWhitespace(position + 1)
            guard let valueEnd = valueEnd(from: valueStart), valueEnd <= range.upperBound else { return false }
            body(Member(key: key, value: valueStart..<valueEnd))
            position = skipWhitespace(valueEnd)
            guard position < range.upperBound else { return false }
            if bytes[position] == UInt8(ascii: "}") { return position + 1 == range.upperBound }
            guard bytes[position] == UInt8(ascii: ",") else { return false }
            position = skipWhitespace(position + 1)
        }
        return false
    }

    /// The element ranges of the array at `range`; nil if it is not an array.
    func elements(of range: Range<Int>) -> [Range<Int>]? {
        guard range.lowerBound < range.upperBound, bytes[range.lowerBound] == UInt8(ascii: "[") else { return nil }
        var elements: [Range<Int>] = []
        var position = skipWhitespace(range.lowerBound + 1)
        if position < range.upperBound, bytes[position] == UInt8(ascii: "]") {
            return position + 1 == range.upperBound ? elements : nil
        }
        while position < range.upperBound {
            guard let end = valueEnd(from: position), end <= range.upperBound else { return nil }
            elements.append(position..<end)
            position = skipWhitespace(end)
            guard position < range.upperBound else { return nil }
            if bytes[position] == UInt8(ascii: "]") { return position + 1 == range.upperBound ? elements : nil }
            guard bytes[position] == UInt8(ascii: ",") else { return nil }
            position = skipWhitespace(position + 1)
        }
        return nil
    }

    /// A whole, non-negative number written in digits only (no sign, fraction or exponent) that fits in 64 bits.
    func unsigned(_ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty, range.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in bytes[range] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = sum
        }
        return value
    }

    /// An integer as an id: digits with an optional minus sign, within Int64.
    func integer(_ range: Range<Int>) -> Int64? {
        guard !range.isEmpty else { return nil }
        if bytes[range.lowerBound] == UInt8(ascii: "-") {
            guard let magnitude = unsigned((range.lowerBound + 1)..<range.upperBound),
                magnitude <= UInt64(Int64.max) + 1
            else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard let magnitude = unsigned(range), magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// The text of a string value without escapes; nil for any other value or a string with escapes (the stream's
    /// keys and chain ids have none).
    func plainString(_ range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\""),
            bytes[range.upperBound - 1] == UInt8(ascii: "\"")
        else { return nil }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        guard !bytes[inner].contains(UInt8(ascii: "\\")) else { return nil }
        return String(decoding: bytes[inner], as: UTF8.self)
    }

    // MARK: Scanning

    func skipWhitespace(_ start: Int) -> Int {
        var position = start
        while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
        return position
    }

    /// Just past the value starting at `start`.
    func valueEnd(from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""): return stringEnd(from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["): return containerEnd(from: start)
        default:
            var position = start
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\n"),
                    UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    return position > start ? position : nil
                case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ":"):
                    return nil
                default: position += 1
                }
            }
            return position > start ? position : nil
        }
    }

    /// Just past the closing quote of the string starting at `start`.
    private func stringEnd(from start: Int) -> Int? {
        var position = start + 1
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""): return position + 1
            case UInt8(ascii: "\\"): position += 2
            default: position += 1
            }
        }
        return nil
    }

    /// Just past the bracket that closes the object or array starting at `start`; strings are skipped whole, so
    /// brackets inside them do not count, and each closing bracket must match the one it closes.
    private func containerEnd(from start: Int) -> Int? {
        var open: [UInt8] = []
        var position = start
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                guard let end = stringEnd(from: position) else { return nil }
                position = end
                continue
            case UInt8(ascii: "{"):
                open.append(UInt8(ascii: "}"))
            case UInt8(ascii: "["):
                open.append(UInt8(ascii: "]"))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard open.popLast() == bytes[position] else { return nil }
                if open.isEmpty { return position + 1 }
            default: break
            }
            guard open.count <= 512 else { return nil }
            position += 1
        }
        return nil
    }
}
