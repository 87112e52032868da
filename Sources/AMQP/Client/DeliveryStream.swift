/// The deliveries of a consumer, in order. `nextBatch()` returns everything that has arrived since the last call,
/// for callers that work in batches; `next()` yields the deliveries one by one.
/// At most the prefetch count of one channel generation is ever in the buffer, because the broker sends no more
/// until earlier ones are acknowledged.
public struct DeliveryStream: AsyncSequence, Sendable {
    public typealias Element = Delivery

    let buffer: DeliveryBuffer

    public func makeAsyncIterator() -> Iterator {
        Iterator(buffer: buffer)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let buffer: DeliveryBuffer
        var pending: [Delivery] = []
        var index = 0

        public mutating func next() async -> Delivery? {
            if index < pending.count {
                defer { index += 1 }
                return pending[index]
            }
            guard let batch = await nextBatch() else { return nil }
            pending = batch
            index = 1
            return batch[0]
        }

        /// The next batch, including any deliveries of the current batch that `next()` has not returned yet.
        public mutating func nextBatch() async -> [Delivery]? {
            if index < pending.count {
                let rest = Array(pending[index...])
                pending = []
                index = 0
                return rest
            }
            pending = []
            index = 0
            return await buffer.next()
        }
    }
}
