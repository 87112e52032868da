import AMQP
import BrokerTestSupport
import Testing

@testable import MinerIndexService

@Suite struct AckPlannerTests {
    private func tag(_ value: UInt64, generation: UInt64 = 1) -> DeliveryTag {
        DeliveryTag(generation: generation, value: value)
    }

    @Test func aBatchAllDoneIsOneMultipleAck() {
        var planner = AckPlanner()
        #expect(planner.plan([(tag(1), .done), (tag(2), .done), (tag(3), .done)]) == [.ackThrough(tag(3), count: 3)])
        #expect(planner.plan([]) == [])
    }

    @Test func anUnconfirmedDeadLetterIsRejectedAndTheRestAcknowledgedOneByOne() {
        var planner = AckPlanner()
        #expect(
            planner.plan([(tag(1), .done), (tag(2), .deadLetterUnconfirmed), (tag(3), .done)])
                == [.ack(tag(1)), .reject(tag(2)), .ack(tag(3))])
    }

    @Test func aHeldRegistryCommandBlocksMultipleAcksUntilItsCommit() {
        var planner = AckPlanner()
        #expect(planner.plan([(tag(1), .done), (tag(2), .awaitingCommit)]) == [.ack(tag(1)), .hold(tag(2))])
        // A multiple-ack now would cover 2 before its commit.
        #expect(planner.plan([(tag(3), .done), (tag(4), .done)]) == [.ack(tag(3)), .ack(tag(4))])
        #expect(planner.committed(tag(2)) == .ack(tag(2)))
        #expect(planner.committed(tag(2)) == nil, "never twice")
        #expect(planner.plan([(tag(5), .done), (tag(6), .done)]) == [.ackThrough(tag(6), count: 2)])
    }

    @Test func aNewChannelForgetsTheTagsOfTheOldOne() {
        var planner = AckPlanner()
        _ = planner.plan([(tag(7), .awaitingCommit)])
        #expect(planner.plan([(tag(1, generation: 2), .done)]) == [.ackThrough(tag(1, generation: 2), count: 1)])
        #expect(planner.committed(tag(7)) == nil, "the broker requeued it with its channel")
    }

    /// Against a model of the channel, over random batches, settlements and commit orders: every delivery is
    /// acknowledged, rejected or held exactly once and a held one acknowledged exactly once after its commit; a
    /// registry command is never acknowledged before its commit; a multiple-ack covers only settled deliveries.
    @Test(arguments: 0..<40) func keepsItsRulesOnRandomBatches(seed: UInt64) {
        var random = SplitMix(state: seed)
        var planner = AckPlanner()
        var model = ChannelModel()
        var nextTag: UInt64 = 1
        var pendingCommits: [DeliveryTag] = []

        for _ in 0..<60 {
            let size = Int(random.next() % 6) + 1
            var batch: [(tag: DeliveryTag, settlement: AckPlanner.Settlement)] = []
            for _ in 0..<size {
                let roll = random.next() % 10
                let settlement: AckPlanner.Settlement =
                    roll < 7 ? .done : roll < 8 ? .deadLetterUnconfirmed : .awaitingCommit
                let delivery = tag(nextTag)
                nextTag += 1
                model.delivered(delivery, settlement)
                batch.append((delivery, settlement))
            }
            for action in planner.plan(batch) {
                model.apply(action)
                if case .hold(let held) = action { pendingCommits.append(held) }
            }
            // Some commits complete, in any order.
            while !pendingCommits.isEmpty, random.next() % 3 == 0 {
                let index = Int(random.next() % UInt64(pendingCommits.count))
                let committed = pendingCommits.remove(at: index)
                model.commit(committed)
                if let action = planner.committed(committed) { model.apply(action) }
            }
        }
        for committed in pendingCommits {
            model.commit(committed)
            if let action = planner.committed(committed) { model.apply(action) }
        }
        #expect(model.violations.isEmpty, "\(model.violations.prefix(5))")
        #expect(model.unsettled.isEmpty, "never settled: \(model.unsettled.sorted())")
        #expect(planner.held.isEmpty)
    }
}

/// What the broker sees on one channel: outstanding deliveries, and what each acknowledgement settles.
private struct ChannelModel {
    enum State { case outstanding, acked, rejected }

    var settlement: [DeliveryTag: AckPlanner.Settlement] = [:]
    var state: [DeliveryTag: State] = [:]
    var committed: Set<DeliveryTag> = []
    var holds: [DeliveryTag: Int] = [:]
    var violations: [String] = []

    mutating func delivered(_ tag: DeliveryTag, _ settled: AckPlanner.Settlement) {
        settlement[tag] = settled
        state[tag] = .outstanding
    }

    mutating func commit(_ tag: DeliveryTag) { committed.insert(tag) }

    mutating func apply(_ action: AckPlanner.Action) {
        switch action {
        case .ackThrough(let last, _):
            // A multiple-ack settles every outstanding delivery up to `last`: each must be safe to acknowledge.
            for (tag, current) in state where tag <= last && current == .outstanding {
                acknowledge(tag, how: "covered by a multiple-ack through \(last)")
            }
        case .ack(let tag):
            guard state[tag] == .outstanding else {
                violations.append("\(tag) acknowledged while \(String(describing: state[tag]))")
                return
            }
            acknowledge(tag, how: "acknowledged")
        case .reject(let tag):
            guard state[tag] == .outstanding else {
                violations.append("\(tag) rejected while \(String(describing: state[tag]))")
                return
            }
            if settlement[tag] != .deadLetterUnconfirmed {
                violations.append("\(tag) rejected though \(String(describing: settlement[tag]))")
            }
            state[tag] = .rejected
        case .hold(let tag):
            holds[tag, default: 0] += 1
            if holds[tag] != 1 || settlement[tag] != .awaitingCommit { violations.append("\(tag) held wrongly") }
        }
    }

    private mutating func acknowledge(_ tag: DeliveryTag, how: String) {
        switch settlement[tag] {
        case .deadLetterUnconfirmed: violations.append("\(tag) \(how) though its dead-letter copy was unconfirmed")
        case .awaitingCommit where !committed.contains(tag): violations.append("\(tag) \(how) before its commit")
        default: break
        }
        state[tag] = .acked
    }

    var unsettled: [DeliveryTag] { state.filter { $0.value == .outstanding }.map(\.key) }
}
