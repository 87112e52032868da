import Testing

@testable import AMQP

@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    /// Jitter fixed at the middle, so every delay is the curve's own: 0.5 s, 1 s, 2 s, …
    let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30), multiplier: 2, jitter: 0.2)
    let lost = AMQPError.connectionLost(reason: "socket closed")
    let channelError = AMQPError.server(
        operation: "publishing", scope: .channel, replyCode: 404, replyText: "NOT_FOUND")

    func machine(_ recovery: Machine.ChannelRecovery) -> Machine {
        Machine(backoff: backoff, channelRecovery: recovery, random: { 0.5 })
    }

    @Test func aClientAskedToCloseBeforeItStartsNeverConnects() {
        var machine = machine(.afterBackoff)
        #expect(machine.start(closeRequested: true) == .init(action: .finish(.none)))
        #expect(machine.isFinished)
    }

    @Test func failedConnectsBackOffFurtherEachTimeAndAnOpenedSessionResetsTheCurve() {
        var machine = machine(.afterBackoff)
        #expect(machine.start(closeRequested: false).action == .connect)
        var step = machine.connectFailed(lost, closeRequested: false)
        #expect(step.failure == .init(error: lost, consecutive: 0, retryIn: .milliseconds(500)))
        #expect(step.action == .wait(.milliseconds(500)))
        #expect(machine.waited(closeRequested: false).action == .connect)
        step = machine.connectFailed(lost, closeRequested: false)
        #expect(step.failure?.consecutive == 1)
        #expect(step.action == .wait(.seconds(1)))
        #expect(machine.waited(closeRequested: false).action == .connect)
        #expect(machine.connected() == .init(action: .openSession(generation: 1)))
        machine.sessionOpened()
        #expect(machine.failures == 0)
        step = machine.sessionEnded(.connectionFailed(lost), closeRequested: false)
        #expect(step.dropConnection)
        #expect(step.failure == .init(error: lost, consecutive: 0, retryIn: .milliseconds(500)))
        #expect(step.action == .wait(.milliseconds(500)))
        #expect(machine.waited(closeRequested: false).action == .connect)
        #expect(machine.connected().action == .openSession(generation: 2))
    }

    @Test func aSessionThatFailsToOpenKeepsCountingFailures() {
        var machine = machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        let step = machine.sessionEnded(.connectionFailed(lost), closeRequested: false)
        #expect(step.failure?.consecutive == 0)
        _ = machine.waited(closeRequested: false)
        _ = machine.connected()
        #expect(machine.sessionEnded(.connectionFailed(lost), closeRequested: false).action == .wait(.seconds(1)))
    }

    @Test func theConsumerReopensAFailedChannelAfterBackoffOnTheSameConnection() {
        var machine = machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        machine.sessionOpened()
        let step = machine.sessionEnded(.channelFailed(channelError), closeRequested: false)
        #expect(!step.dropConnection)
        #expect(step.failure == .init(error: channelError, consecutive: 0, retryIn: .milliseconds(500)))
        #expect(step.action == .wait(.milliseconds(500)))
        #expect(machine.waited(closeRequested: false) == .init(action: .openSession(generation: 2)))
    }

    @Test func thePublisherReopensAFailedChannelAtOnceThenBacksOffIfItKeepsFailing() {
        var machine = machine(.atOnceThenBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        machine.sessionOpened()
        var step = machine.sessionEnded(.channelFailed(channelError), closeRequested: false)
        #expect(step.failure == .init(error: channelError, consecutive: 0, retryIn: .zero))
        #expect(step.action == .openSession(generation: 2))
        // The reopened channel fails before it opens: now it backs off, from the start of the curve.
        step = machine.sessionEnded(.channelFailed(channelError), closeRequested: false)
        #expect(step.failure?.consecutive == 1)
        #expect(step.action == .wait(.milliseconds(500)))
        #expect(machine.waited(closeRequested: false).action == .openSession(generation: 3))
        step = machine.sessionEnded(.channelFailed(channelError), closeRequested: false)
        #expect(step.action == .wait(.seconds(1)))
        _ = machine.waited(closeRequested: false)
        machine.sessionOpened()
        #expect(
            machine.sessionEnded(.channelFailed(channelError), closeRequested: false).action
                == .openSession(generation: 5))
    }

    @Test func aCancelledConsumerSubscribesAgainAtOnceOnANewChannel() {
        var machine = machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        machine.sessionOpened()
        let step = machine.sessionEnded(.cancelledByBroker, closeRequested: false)
        #expect(step == .init(closeChannel: true, action: .openSession(generation: 2)))
        // Cancelled while closing: the channel is still closed first (and the cancel reported), then the connection.
        machine.sessionOpened()
        #expect(
            machine.sessionEnded(.cancelledByBroker, closeRequested: true)
                == .init(closeChannel: true, action: .finish(.close)))
    }

    @Test func aCloseEndsEveryStateWithTheRightConnectionDisposal() {
        var machine = machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        #expect(
            machine.connectFailed(lost, closeRequested: true)
                == .init(failure: .init(error: lost, consecutive: 0, retryIn: nil), action: .finish(.none)))

        machine = self.machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        machine.sessionOpened()
        #expect(machine.sessionEnded(.closeRequested, closeRequested: true) == .init(action: .finish(.close)))

        machine = self.machine(.atOnceThenBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        machine.sessionOpened()
        #expect(machine.sessionEnded(.channelFailed(channelError), closeRequested: true).action == .finish(.close))

        machine = self.machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        _ = machine.sessionEnded(.channelFailed(channelError), closeRequested: false)
        #expect(machine.waited(closeRequested: true) == .init(action: .finish(.close)))

        machine = self.machine(.afterBackoff)
        _ = machine.start(closeRequested: false)
        _ = machine.connected()
        let step = machine.sessionEnded(.connectionFailed(lost), closeRequested: true)
        #expect(step.dropConnection)
        #expect(step.action == .finish(.none))
        #expect(machine.isFinished)
    }

    @Test func whatASessionThrowsIsSortedByWhetherTheConnectionSurvives() {
        typealias End = Machine.SessionEnd
        #expect(End(classifying: channelError, operation: "x") == .channelFailed(channelError))
        #expect(
            End(classifying: SessionInterruption.channelClosed(channelError), operation: "x")
                == .channelFailed(channelError))
        #expect(End(classifying: SessionInterruption.consumerCancelled, operation: "x") == .cancelledByBroker)
        #expect(End(classifying: lost, operation: "x") == .connectionFailed(lost))
        let connectionClose = AMQPError.server(
            operation: "x", scope: .connection, replyCode: 320, replyText: "CONNECTION_FORCED")
        #expect(End(classifying: connectionClose, operation: "x") == .connectionFailed(connectionClose))
    }
}
