import Foundation
import Testing

@testable import MinerIndex

/// The changed fields a delta sends for a log its subscribers hold: merged into the log as written before, they
/// must give exactly the log as written whole, and they must hold nothing that did not change.
@Suite struct ChangedFieldsTests {
    /// Writes `before` whole (recording its fingerprint), then `after`'s changed fields; returns both whole records
    /// and the changed fields, parsed.
    private func changes<Log: JSONRecord>(from before: Log, to after: Log) throws
        -> (before: [String: Any], after: [String: Any], changed: [String: Any])
    {
        var fingerprint: [UInt64] = []
        var writer = JSONWriter()
        before.writeJSON(to: &writer, fingerprint: &fingerprint, onlyChanged: false)
        let beforeBytes = writer.bytes
        #expect(beforeBytes == before.encodedJSON(), "recording a fingerprint must not change what is written")
        writer.removeAll()
        after.writeJSON(to: &writer, fingerprint: &fingerprint, onlyChanged: true)
        return (
            try Fixtures.parse(beforeBytes), try Fixtures.parse(after.encodedJSON()), try Fixtures.parse(writer.bytes)
        )
    }

    /// The keys whose values differ between two records, compared as written.
    private func differingKeys(_ a: [String: Any], _ b: [String: Any]) -> Set<String> {
        Set(a.keys).union(b.keys).filter { key in
            let left = a[key].map { IndexStreamCanonical.text($0) }
            let right = b[key].map { IndexStreamCanonical.text($0) }
            return left != right
        }
    }

    @Test func anAsicLogSendsOnlyWhatChangedAndMergesBackToTheWholeRecord() throws {
        let before = try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject(id: 7)))
        let after = try AsicMinerLog.decode(
            json: Fixtures.json(
                Fixtures.asicLogObject(
                    id: 7,
                    overrides: [
                        "hashrate_5_min": 97.25, "pool_2_state": "Alive", "fan_3_speed": 6000, "uptime": "03:11:22:50",
                        "wan_ip": NSNull(), "inserted_at": "2023-11-14T22:13:25.000Z",
                    ])))
        let (whole, next, changed) = try changes(from: before, to: after)
        #expect(
            Set(changed.keys) == ["hashrate_5_min", "pool_2_state", "fan_3_speed", "uptime", "wan_ip", "inserted_at"])
        #expect(Set(changed.keys) == differingKeys(whole, next))
        #expect(changed["wan_ip"] is NSNull, "a field that became null is sent as null")
        let merged = whole.merging(changed) { _, new in new }
        #expect(IndexStreamCanonical.text(merged) == IndexStreamCanonical.text(next))
    }

    @Test func aCpuGpuLogSendsOnlyWhatChangedAndMergesBackToTheWholeRecord() throws {
        let before = try CpuGpuMinerLog.decode(json: Fixtures.json(Fixtures.cpuGpuLogObject(id: 3)))
        let after = try CpuGpuMinerLog.decode(
            json: Fixtures.json(
                Fixtures.cpuGpuLogObject(
                    id: 3,
                    overrides: [
                        "gpu_5_core_temp": 70, "gpu_2_hashrate_1": 121.0, "gpu_pool_address_2": "kas.example.org:2020",
                        "cpu_power": 96.5,
                    ])))
        let (whole, next, changed) = try changes(from: before, to: after)
        #expect(Set(changed.keys) == ["gpu_5_core_temp", "gpu_2_hashrate_1", "gpu_pool_address_2", "cpu_power"])
        let merged = whole.merging(changed) { _, new in new }
        #expect(IndexStreamCanonical.text(merged) == IndexStreamCanonical.text(next))
    }

    @Test func anUnchangedLogSendsAnEmptyObject() throws {
        let log = try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject(id: 1)))
        let (_, _, changed) = try changes(from: log, to: log)
        #expect(changed.isEmpty)
    }

    /// Values that `==` holds equal but that are written as different bytes are changes.
    @Test func valuesThatCompareEqualButAreWrittenDifferentlyAreSent() throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        #expect(composed == decomposed)
        var before = try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject(id: 1)))
        before.pools[0].user = composed
        before.hashboards[0].hashrate5Min = 0.0
        var after = before
        after.pools[0].user = decomposed
        after.hashboards[0].hashrate5Min = -0.0
        let (_, next, changed) = try changes(from: before, to: after)
        #expect(Set(changed.keys) == ["pool_1_user", "hashboard_1_hashrate_5_min"])
        #expect(changed["pool_1_user"] as? String == next["pool_1_user"] as? String)
    }

    /// A fingerprint records the fields in writing order, so the record written next compares field by field.
    @Test func aFingerprintHasOneEntryPerFieldAndFollowsEveryWrite() throws {
        let first = try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject(id: 1)))
        let second = try AsicMinerLog.decode(
            json: Fixtures.json(Fixtures.asicLogObject(id: 1, overrides: ["power": 3300])))
        var fingerprint: [UInt64] = []
        var writer = JSONWriter()
        first.writeJSON(to: &writer, fingerprint: &fingerprint, onlyChanged: false)
        let fields = try Fixtures.parse(writer.bytes).count
        #expect(fingerprint.count == fields)
        for (log, expected) in [(second, ["power"]), (second, []), (first, ["power"])] {
            writer.removeAll()
            log.writeJSON(to: &writer, fingerprint: &fingerprint, onlyChanged: true)
            #expect(Set(try Fixtures.parse(writer.bytes).keys) == Set(expected))
            #expect(fingerprint.count == fields)
        }
    }
}

/// Parsed JSON written back with sorted keys, to compare records whatever their key order.
enum IndexStreamCanonical {
    static func text(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }
}
