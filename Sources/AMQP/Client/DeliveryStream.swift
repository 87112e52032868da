/// The deliveries of a consumer, in order. The consumer's thread hands them over in batches (everything that was
/// readable at once), which `nextBatch()` exposes for callers that work in batches; `next()` yields them one by one.
/// At most the prefetch count of one channel generation is ever in the buffer, because the broker sends no more
/// until earlier ones are acknowledged.
public struct DeliveryStream: AsyncSequence, Sendable {
    public typealias Element = Delivery

    let batches: AsyncStream<[Delivery]>

    public func makeAsyncIterator() -> Iterator {
        Iterator(batches: batches.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        var batches: AsyncStream<[Delivery]>.AsyncIterator
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
            while let batch = await batches.next() {
                if !batch.isEmpty { return batch }
            }
            return nil
        }
    }
}
