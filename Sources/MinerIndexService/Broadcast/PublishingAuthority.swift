import Foundation
import MinerIndexState

/// Whether this instance may publish right now, and the epoch it publishes under.
///
/// A leader of a shared store checks its lease right before every publish: a leader that was stopped and wakes up
/// late finds its lease run out and publishes nothing until it knows whether it still leads. The epoch travels
/// with every snapshot, so that a subscriber can drop the rare late message of a deposed leader.
struct PublishingAuthority: Sendable {
    let epoch: Int64?
    let lock: any LeaderLock

    var mayPublish: Bool { lock.isHeld }

    /// Which process published a snapshot (`host/pid`, in the `publisher` header), for operators and for checking
    /// that one epoch never has two publishers.
    static let instance = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
}
