import Testing

@testable import MinerIndexService

/// The term lifecycle as whole action lists, event by event.
@Suite struct TermStateMachineTests {
    typealias Machine = TermStateMachine

    /// Feeds the events in order; returns each one's actions.
    func run(_ events: [Machine.Event], machine: inout Machine) -> [[Machine.Action]] {
        events.map { machine.handle($0) }
    }

    @Test func aSingleInstanceLeadsFromItsStartAndStopsInOrder() {
        var machine = Machine()
        #expect(machine.role == .restoring)
        let actions = run([.restored(sharedStore: false)], machine: &machine)
        #expect(actions == [[.prepareSingleLeader, .lead(freshConsumer: false)]])
        #expect(machine.role == .leader)
        #expect(
            run([.termEnded(.shutdown), .steppedDown], machine: &machine) == [
                [.publishFinal, .finalCheckpoint, .stepDown],
                [.close],
            ])
        #expect(machine.state == .stopped)
    }

    @Test func aSingleInstanceWhoseWriteFindsAnotherLeaderStopsWithoutAFinalSnapshot() {
        var machine = Machine()
        let actions = run(
            [.restored(sharedStore: false), .termEnded(.lost("a write found another leader")), .steppedDown],
            machine: &machine)
        #expect(actions == [[.prepareSingleLeader, .lead(freshConsumer: false)], [.stepDown], [.close]])
        #expect(machine.state == .stopped)
    }

    @Test func aStandbyTakesOverLosesTheLeaseStandsByAgainAndLeadsWithAFreshConsumer() {
        var machine = Machine()
        let actions = run(
            [
                .restored(sharedStore: true), .lockTaken, .tookOver, .termEnded(.lost("lease")), .steppedDown,
                .lockTaken, .tookOver, .termEnded(.shutdown), .steppedDown,
            ], machine: &machine)
        #expect(
            actions == [
                [.standBy],
                [.takeLeadership],
                [.lead(freshConsumer: false)],
                [.stepDown, .closeConsumer],
                [.standBy],
                [.takeLeadership],
                [.lead(freshConsumer: true)],
                [.publishFinal, .finalCheckpoint, .stepDown],
                [.close],
            ])
        #expect(machine.state == .stopped)
    }

    @Test func aFailedTakeoverStepsDownAndStandsByAgain() {
        var machine = Machine()
        let actions = run(
            [.restored(sharedStore: true), .lockTaken, .takeoverFailed("store unreachable"), .steppedDown],
            machine: &machine)
        #expect(actions == [[.standBy], [.takeLeadership], [.stepDown], [.standBy]])
        #expect(machine.state == .standby && machine.role == .standby)
    }

    @Test func aStopWhileStandingByClosesWithoutLeading() {
        var machine = Machine()
        let actions = run([.restored(sharedStore: true), .stopAsked], machine: &machine)
        #expect(actions == [[.standBy], [.close]])
        #expect(machine.state == .stopped)
    }

    @Test func theRoleFollowsTheState() {
        var machine = Machine()
        var roles: [MinerIndexService.Role] = [machine.role]
        for event in [
            Machine.Event.restored(sharedStore: true), .lockTaken, .tookOver, .termEnded(.lost("x")), .steppedDown,
        ] {
            _ = machine.handle(event)
            roles.append(machine.role)
        }
        #expect(roles == [.restoring, .standby, .standby, .leader, .leader, .standby])
    }
}
