import Testing

@testable import AMQP

@Suite struct DeliveryBufferTests {
    private func deliveries(_ tags: ClosedRange<UInt64>) -> [Delivery] {
        tags.map { tag in
            Delivery(
                tag: DeliveryTag(generation: 1, value: tag), exchange: "in", routingKey: "asic_miner.log",
                redelivered: false, properties: MessageProperties(), body: [UInt8(tag % 256)])
        }
    }

    @Test func aReaderTakesEverythingThatArrivedSinceItLastLooked() async {
        let buffer = DeliveryBuffer()
        buffer.append(deliveries(1...3))
        buffer.append(deliveries(4...4))
        buffer.append([])
        buffer.append(deliveries(5...9))
        let batch = await buffer.next()
        #expect(batch?.map(\.tag.value) == Array(1...9))
    }

    /// Yields until a reader is suspended in `next()`, so that what follows happens to a waiting reader.
    private func untilWaiting(_ buffer: DeliveryBuffer) async {
        for _ in 0..<1_000_000 {
            if buffer.waitingReaderCount > 0 { return }
            await Task.yield()
        }
        Issue.record("no reader ever waited")
    }

    @Test func aWaitingReaderGetsTheNextAppendInOrder() async {
        let buffer = DeliveryBuffer()
        async let first = buffer.next()
        // The append must resume the waiting reader rather than fill the buffer.
        await untilWaiting(buffer)
        buffer.append(deliveries(1...2))
        #expect(await first?.map(\.tag.value) == [1, 2])
        buffer.append(deliveries(3...3))
        #expect(await buffer.next()?.map(\.tag.value) == [3])
    }

    @Test func finishingHandsOverWhatIsPendingThenEnds() async {
        let buffer = DeliveryBuffer()
        buffer.append(deliveries(1...2))
        buffer.finish()
        buffer.append(deliveries(3...3))
        #expect(await buffer.next()?.map(\.tag.value) == [1, 2])
        #expect(await buffer.next() == nil)
    }

    @Test func finishingWakesAWaitingReader() async {
        let buffer = DeliveryBuffer()
        async let waiting = buffer.next()
        await untilWaiting(buffer)
        buffer.finish()
        #expect(await waiting == nil)
    }

    @Test func cancellingAWaitingReaderEndsItsWaitAndLosesNothing() async {
        let buffer = DeliveryBuffer()
        let reader = Task { await buffer.next() }
        await untilWaiting(buffer)
        reader.cancel()
        #expect(await reader.value == nil)
        #expect(buffer.waitingReaderCount == 0, "the cancelled reader is still registered")
        buffer.append(deliveries(1...2))
        #expect(await buffer.next()?.map(\.tag.value) == [1, 2])
    }
}
