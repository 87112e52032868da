/// The roles of one instance over its life: restoring its state, standing by behind another leader (a shared store
/// only), taking over, leading (consuming and publishing), stepping down, stopped. Like `ConnectionStateMachine` it
/// does no I/O: each event returns the actions to carry out, in order, and `MinerIndexService` carries them out and
/// reports what came of them as the next events. What ends a term, and in what order things stop, is decided here.
struct TermStateMachine: Sendable {
    enum State: Equatable, Sendable {
        case restoring
        /// Following the leader through the shared store and trying its lock.
        case standby
        /// The lock is taken; the epoch is being raised and the store read.
        case takingOver
        case leading
        /// Giving up the lock and what depends on it; then `next`.
        case steppingDown(then: After)
        case stopped
    }

    enum After: Equatable, Sendable {
        case standby
        case stopped
    }

    /// Why a term as leader ended. The subscription is stopped and what was received finished by then.
    enum TermEnd: Equatable, Sendable {
        case shutdown
        case lost(String)
    }

    enum Event: Equatable, Sendable {
        case restored(sharedStore: Bool)
        /// The standby took the leader lock.
        case lockTaken
        /// A graceful shutdown was asked while standing by.
        case stopAsked
        case tookOver
        case takeoverFailed(String)
        case termEnded(TermEnd)
        case steppedDown
    }

    enum Action: Equatable, Sendable {
        /// Refresh from the shared store and try the lock until it is taken (`lockTaken`) or a stop is asked.
        case standBy
        /// Raise the epoch (fencing a deposed leader's writes), read what it wrote, reserve sequence numbers.
        case takeLeadership
        /// A store only this instance uses: write the new epoch and the sequence reservations.
        case prepareSingleLeader
        /// Consume and publish until a shutdown or a lost lease ends the term (`termEnded`); a term after the
        /// first needs a consumer of its own.
        case lead(freshConsumer: Bool)
        /// One snapshot per aggregated exchange and one keyframe per full index.
        case publishFinal
        /// The last checkpoint, waited for; any registry change still waiting is committed and acknowledged.
        case finalCheckpoint
        /// Release the lock, stop fencing, drop what was not written (it was never acknowledged).
        case stepDown
        case closeConsumer
        /// Stop the background work (expiry, history, the state writer), then close the connections and the store.
        case close
    }

    private(set) var state = State.restoring
    private var terms = 0
    private var sharedStore = false

    /// The role readiness and `/readyz` report.
    var role: MinerIndexService.Role {
        switch state {
        case .restoring: .restoring
        case .standby, .takingOver: .standby
        case .leading, .steppingDown: .leader
        case .stopped: .leader
        }
    }

    mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        case (.restoring, .restored(let shared)):
            sharedStore = shared
            if shared {
                state = .standby
                return [.standBy]
            }
            return [.prepareSingleLeader] + lead()
        case (.standby, .lockTaken):
            state = .takingOver
            return [.takeLeadership]
        case (.standby, .stopAsked):
            state = .stopped
            return [.close]
        case (.takingOver, .tookOver):
            return lead()
        case (.takingOver, .takeoverFailed):
            state = .steppingDown(then: .standby)
            return [.stepDown]
        case (.leading, .termEnded(.shutdown)):
            state = .steppingDown(then: .stopped)
            return [.publishFinal, .finalCheckpoint, .stepDown]
        case (.leading, .termEnded(.lost)):
            // Consuming and publishing have stopped at once: another instance may already lead.
            state = .steppingDown(then: sharedStore ? .standby : .stopped)
            return sharedStore ? [.stepDown, .closeConsumer] : [.stepDown]
        case (.steppingDown(.standby), .steppedDown):
            state = .standby
            return [.standBy]
        case (.steppingDown(.stopped), .steppedDown):
            state = .stopped
            return [.close]
        default:
            preconditionFailure("\(event) while \(state)")
        }
    }

    private mutating func lead() -> [Action] {
        state = .leading
        terms += 1
        return [.lead(freshConsumer: terms > 1)]
    }
}
