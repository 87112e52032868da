extension Duration {
    /// The AMQP layer's own conversion: it sits below the domain module and does not import it.
    var secondsDouble: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
