/// When a log describes the miner: its own `inserted_at`, but never later than when it was received (a miner
/// with a fast clock must not stay "alive" past its real silence). Without `inserted_at`, the publisher's AMQP
/// timestamp if there is one, else the receive time.
public enum ObservationTime {
    public static func of(insertedAt: Timestamp?, receivedAt: Timestamp, amqpTimestamp: Timestamp?) -> Timestamp {
        if let insertedAt { return min(insertedAt, receivedAt) }
        if let amqpTimestamp { return min(amqpTimestamp, receivedAt) }
        return receivedAt
    }
}
