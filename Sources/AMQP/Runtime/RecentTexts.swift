internal import CRabbitMQ
import Foundation

/// The texts that repeat from one delivery to the next (exchange, routing key, content type, type, app id), kept
/// so that a delivery that carries the same bytes as a recent one shares its `String` instead of allocating a new
/// one. Above 15 UTF-8 bytes a Swift string lives on the heap, and names like `application/json` or
/// `cpu_gpu_miner.log` cost an allocation and a free per delivery otherwise.
///
/// Owned by one connection, so by one thread. Bytes are compared exactly, so a text that is not valid UTF-8 is
/// repaired afresh each time, the same as without the cache.
struct RecentTexts {
    /// Few distinct values per field: one exchange, a handful of routing keys.
    private static let capacity = 8
    private var texts: [String] = []
    private var nextEviction = 0

    mutating func text(_ bytes: amqp_bytes_t) -> String {
        guard let start = bytes.bytes, bytes.len > 0 else { return "" }
        return text(UnsafeRawBufferPointer(start: start, count: bytes.len))
    }

    mutating func text(_ incoming: UnsafeRawBufferPointer) -> String {
        // Small strings are stored inline and cost nothing to make.
        guard incoming.count > 15, let start = incoming.baseAddress else {
            return String(decoding: incoming, as: UTF8.self)
        }
        for index in texts.indices {
            var candidate = texts[index]
            let same = candidate.withUTF8 { stored in
                guard stored.count == incoming.count, let storedStart = stored.baseAddress else { return false }
                return memcmp(storedStart, start, incoming.count) == 0
            }
            if same { return candidate }
        }
        let made = String(decoding: incoming, as: UTF8.self)
        if texts.count < Self.capacity {
            texts.append(made)
        } else {
            texts[nextEviction] = made
            nextEviction = (nextEviction + 1) % Self.capacity
        }
        return made
    }
}
