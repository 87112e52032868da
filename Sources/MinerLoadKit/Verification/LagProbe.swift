import MinerIndex

/// Lag probes are canaries (see the service's `Canary`): `{"id": "miner-load-<run>", "sequence": k}` on
/// `<kind>.canary`. The service applies one in order with the logs around it and reports the highest sequence of
/// each id in that kind's aggregated payload, under `"canaries"`, without counting it in any fleet figure. Since
/// the queue is FIFO, the first snapshot that shows k or more reflects every log the broker confirmed before
/// probe k, and the time from the broker's confirm of probe k to that snapshot is the end-to-end lag.
///
/// A canary rather than a probe miner: a miner of any kind, registered or not, changes the alive counts and the
/// fleet-health figures, so a load test that measured lag would show one miner (and one coin) too many.
public enum LagProbe {
    /// The canary id of one run; runs side by side on one broker do not read each other's probes.
    public static func canaryID(runID: String) -> String { "miner-load-\(runID)" }

    public static func body(canaryID: String, serial: Int64) -> [UInt8] {
        var json = JSONBodyWriter(reservingCapacity: 64)
        json.string("id", canaryID)
        json.integer("sequence", serial)
        return json.finish()
    }
}
