extension Duration {
    /// The duration in seconds, as the domain's configuration and timestamps count it.
    public var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Timestamp {
    public func adding(_ duration: Duration) -> Timestamp { adding(seconds: duration.secondsValue) }
}
