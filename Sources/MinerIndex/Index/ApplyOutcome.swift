/// What an index did with one command, so the caller can count and log without inspecting state.
public enum ApplyOutcome: Sendable, Hashable {
    /// The state changed as asked.
    case applied
    /// A log older than the one already held for the miner (redelivered or reordered): nothing changed.
    case ignoredOutOfOrder
    /// A log already older than the offline threshold when it arrived (a backlog drained after an outage). It is
    /// kept in the history, but it does not make the miner live again.
    case ignoredOffline
    /// A delete or remove for an id the index does not hold.
    case notFound
    /// A log or upsert for a new id while the registry holds `maxMiners` already: nothing changed, and the message
    /// belongs in the dead letters, so a flood of invented ids cannot grow the index without bound.
    case registryFull
}
