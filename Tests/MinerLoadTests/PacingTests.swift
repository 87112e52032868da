import AMQP
import Testing

@testable import MinerLoadKit

@Suite struct PacingTests {
    @Test func slotsAreDueEvenlyAtTheRate() {
        let pacer = SendPacer(slotsPerSecond: 200)
        #expect(pacer.slotsDue(atElapsed: 0) == 1)
        #expect(pacer.slotsDue(atElapsed: 0.004) == 1)
        #expect(pacer.slotsDue(atElapsed: 0.005) == 2)
        #expect(pacer.slotsDue(atElapsed: 1) == 201)
        #expect(pacer.dueTime(ofSlot: 100) == 0.5)
    }

    @Test func aSenderThatFellBehindCatchesUpAtMostTheBacklog() {
        let pacer = SendPacer(slotsPerSecond: 100, maximumBacklog: 1)
        #expect(pacer.nextSlot(after: 950, atElapsed: 10) == 950, "within the backlog: nothing skipped")
        #expect(pacer.nextSlot(after: 100, atElapsed: 10) == 901, "ten seconds behind: only the last second is sent")
    }

    @Test func unlimitedMeansEverySlotIsDueNow() {
        let pacer = SendPacer(slotsPerSecond: nil)
        #expect(pacer.slotsDue(atElapsed: 0) == .max)
        #expect(pacer.nextSlot(after: 12, atElapsed: 100) == 12)
    }

    @Test func theRateIsTheFleetsPaceCappedByRate() throws {
        var configuration = LoadConfiguration(amqp: try ConnectionSettings(url: "amqp://guest:guest@127.0.0.1:5672/"))
        configuration.asicCount = 70_000
        configuration.cpuGpuCount = 30_000
        configuration.reportInterval = .seconds(5)
        #expect(configuration.slotsPerSecond == 20_000)
        configuration.rate = .capped(perSecond: 5_000)
        #expect(configuration.slotsPerSecond == 5_000)
        configuration.rate = .capped(perSecond: 1_000_000)
        #expect(configuration.slotsPerSecond == 20_000, "a cap above the fleet's pace does not speed the fleet up")
        configuration.rate = .unlimited
        #expect(configuration.slotsPerSecond == nil)
    }

    @Test func theWindowHandsPermitsBackInOrder() async {
        let window = PublishWindow(capacity: 10)
        await window.acquire(6)
        await window.acquire(4)
        #expect(window.inUse == 10)
        let waiter = Task { await window.acquire(8) }
        window.release(6)
        #expect(window.inUse <= 10)
        window.release(4)
        await waiter.value
        #expect(window.inUse == 8)
        window.release(8)
        await window.drain()
        #expect(window.inUse == 0)
    }
}
