/// The growable byte store behind `JSONWriter`: a raw allocation written with plain copies, because
/// `Array.append` re-checks uniqueness and capacity through generic code on every call, which dominated the
/// cost of writing records of sixty short fields.
///
/// `@unchecked Sendable` on the same terms as Array's storage: `JSONWriter` mutates it only while it holds the
/// sole reference (copy-on-write), so no two owners ever see it change.
final class JSONWriterStorage: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    func copy() -> JSONWriterStorage {
        let duplicate = JSONWriterStorage(capacity: capacity)
        duplicate.base.update(from: base, count: count)
        duplicate.count = count
        return duplicate
    }

    /// Makes room for `additional` more bytes and returns where they go; the caller then calls `advance`.
    @inline(__always)
    func reserve(_ additional: Int) -> UnsafeMutablePointer<UInt8> {
        if count + additional > capacity { grow(to: count + additional) }
        return base + count
    }

    @inline(__always)
    func advance(_ written: Int) { count += written }

    @inline(__always)
    func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    func removeAll() { count = 0 }

    func truncate(to length: Int) { count = min(count, max(0, length)) }

    func last(_ length: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + (count - length), count: length)
    }

    func toArray() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let destination = buffer.baseAddress { destination.update(from: base, count: count) }
            initialized = count
        }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
