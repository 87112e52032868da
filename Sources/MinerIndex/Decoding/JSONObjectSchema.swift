import CSimdJSON

/// The keys one record kind reads, handed to the C layer once so that each message is parsed straight into
/// fixed slots without building a dictionary.
///
/// `@unchecked Sendable`: the C table is written only by `init` and never freed (schemas are process-lifetime
/// statics), after which it is read-only and safe to share between threads.
final class JSONObjectSchema: @unchecked Sendable {
    let keys: [String]
    private let table: OpaquePointer

    init(keys: [String]) {
        self.keys = keys
        var lengths = keys.map { UInt32($0.utf8.count) }
        let cStrings = keys.map { strdup($0) }
        defer { for cString in cStrings { free(cString) } }
        let pointers = cStrings.map { UnsafePointer($0) }
        guard
            let table = pointers.withUnsafeBufferPointer({ keyBuffer in
                lengths.withUnsafeMutableBufferPointer { lengthBuffer in
                    csj_schema_create(keyBuffer.baseAddress, lengthBuffer.baseAddress, UInt32(keys.count))
                }
            })
        else {
            // Only reachable through this module's own literal keys: one longer than the C layer's 32-byte limit,
            // or no memory at start-up.
            fatalError("cannot build a JSON schema of \(keys.count) keys (a key over 32 bytes, or out of memory)")
        }
        self.table = table
    }

    /// The slot index of `key`; only ever called with the schema's own literal keys, so a miss is a programming
    /// error in this module, not bad input.
    func slot(_ key: String) -> Int {
        guard let index = keys.firstIndex(of: key) else {
            preconditionFailure("schema has no key \(key)")
        }
        return index
    }

    /// The slot of the first key of `groups` groups of `fields`, where `key(group, field)` names a key (groups
    /// counted from 1). Checks that the keys were listed group after group, so that field `f` of group `g`
    /// (both from 0) is at the returned slot + g * fields.count + f; a decoder then finds a group's keys by
    /// arithmetic instead of a table per group.
    func firstSlot(ofGroups groups: Int, fields: [String], key: (Int, String) -> String) -> Int {
        let first = slot(key(1, fields[0]))
        for group in 0..<groups {
            for (offset, field) in fields.enumerated() {
                precondition(
                    slot(key(group + 1, field)) == first + group * fields.count + offset,
                    "schema keys of \(key(group + 1, field)) are not listed group after group")
            }
        }
        return first
    }

    /// Parses `body` and hands `read` the filled slots. The slots borrow the parser's buffer, so `read` must copy
    /// out everything it keeps and must not suspend. `readableAfterEnd`: bytes after the body that are allocated
    /// and may be read (a delivery body has `Delivery.spareCapacity`); with enough, the body is not copied.
    func withParsedObject<Result>(
        _ body: UnsafeRawBufferPointer,
        limits: DecodingLimits,
        readableAfterEnd: Int = 0,
        _ read: (FieldReader) throws(RecordDecodingError) -> Result
    ) throws(RecordDecodingError) -> Result {
        // Repeated here so that every public entry point, including the buffer-taking ones, enforces the limit.
        guard body.count <= limits.maxBodyBytes else {
            throw RecordDecodingError(
                field: "body", problem: .bodyTooLarge(size: body.count, limit: limits.maxBodyBytes))
        }
        guard body.count > 0 else { throw RecordDecodingError(field: "body", problem: .invalidJSON) }
        var status = CSJ_OK
        // The slots belong to this thread's parser (see csj_parse_object), which is why `read` must not suspend.
        let slots = csj_parse_object(
            table, body.baseAddress?.assumingMemoryBound(to: UInt8.self), body.count,
            max(0, readableAfterEnd), &status)
        switch status {
        case CSJ_OK:
            break
        case CSJ_NOT_AN_OBJECT:
            throw RecordDecodingError(field: "body", problem: .notAnObject)
        default:
            throw RecordDecodingError(field: "body", problem: .invalidJSON)
        }
        guard let slots else { throw RecordDecodingError(field: "body", problem: .invalidJSON) }
        return try read(
            FieldReader(
                slots: UnsafeBufferPointer(start: slots, count: keys.count), schema: self,
                limits: limits))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
