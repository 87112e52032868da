import Foundation
import MinerIndex
import Testing

@testable import MinerLoadKit

/// The reference subscriber's logic on the encoder's own keyframes and deltas, split into small parts, with an
/// injected clock: applying every delta gives, byte for byte once canonical, the next keyframe.
@Suite struct IndexStreamAssemblerTests {
    let t0 = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)

    private func log(_ id: Int64, _ hashrate: Double) -> AsicMinerLog {
        AsicMinerLog(
            asicMinerId: id, hashrate5Min: hashrate, hashrateUnit: .terahashesPerSecond, uptime: "00:00:01:00",
            pools: [AsicMinerLog.Pool(address: "stratum+tcp://pool", user: "u\(id)", state: "Alive")],
            hashboards: [AsicMinerLog.Hashboard(temperature1: 60)], fanSpeeds: [5000], lanIp: "10.0.0.\(id % 250)",
            coinName: "bitcoin", power: 3000, insertedAt: nil)
    }

    private func stamp(
        _ sequence: UInt64, previous: UInt64?, base: UInt64?, previousDelta: UInt64? = nil, chain: String = "c1"
    ) -> IndexStreamStamp {
        IndexStreamStamp(
            sequence: sequence, previousSequence: previous, baseSequence: base, previousDeltaSequence: previousDelta,
            leaderEpoch: 3, chain: chain, generatedAt: t0)
    }

    /// A subscriber bound to the delta exchange alone takes only the keyframes it asks for. Keyframes that
    /// continued the chain repeat the state of its last delta, which the next delta names, so skipping them is no
    /// gap; a keyframe that started the chain again is one.
    @Test func keyframesThatContinuedTheChainMayBeSkippedAndOneThatRestartedItMayNot() async throws {
        let index = AsicMinerOperationalIndex()
        var encoder = AsicMinerPayloadEncoder(vocabulary: .asicMiner)
        for id in Int64(1)...5 { await index.put(log(id, Double(id)), receivedAt: t0) }
        let start = await index.publication(since: nil, includeSnapshot: true)
        let first = encoder.keyframeParts(
            try #require(start.snapshot), stamp: stamp(1, previous: nil, base: nil), maxBytes: 1 << 20)
        var version = start.version
        func nextDelta(_ stamp: IndexStreamStamp, hashrate: Double) async throws -> [[UInt8]] {
            await index.put(log(1, hashrate), receivedAt: t0.adding(seconds: hashrate))
            let publication = await index.publication(since: version, includeSnapshot: false)
            let delta = try #require(publication.delta)
            version = delta.version
            return encoder.deltaParts(delta, stamp: stamp, maxBytes: 1 << 20)
        }
        func keyframe(_ stamp: IndexStreamStamp) async throws -> [[UInt8]] {
            let snapshot = try #require(await index.publication(since: nil, includeSnapshot: true).snapshot)
            return encoder.keyframeParts(snapshot, stamp: stamp, maxBytes: 1 << 20)
        }
        let second = try await nextDelta(stamp(2, previous: 1, base: 1, previousDelta: 1), hashrate: 10)
        let third = try await keyframe(stamp(3, previous: 2, base: nil, previousDelta: 2))
        _ = try await keyframe(stamp(4, previous: 3, base: nil, previousDelta: 2))
        let fifth = try await nextDelta(stamp(5, previous: 4, base: 4, previousDelta: 2), hashrate: 20)

        // One that applied the delta before the skipped keyframes, and one that took the first of them.
        var throughDeltas = IndexStreamAssembler(keys: .of(.asic))
        var throughAKeyframe = IndexStreamAssembler(keys: .of(.asic))
        #expect(first.map { throughDeltas.receive($0, as: .keyframe) } == [.keyframeApplied])
        #expect(second.map { throughDeltas.receive($0, as: .delta) } == [.deltaApplied])
        #expect(third.map { throughAKeyframe.receive($0, as: .keyframe) } == [.keyframeApplied])
        #expect(fifth.map { throughDeltas.receive($0, as: .delta) } == [.deltaApplied])
        #expect(fifth.map { throughAKeyframe.receive($0, as: .delta) } == [.deltaApplied])
        #expect(throughDeltas.canonicalIndex() == throughAKeyframe.canonicalIndex())
        #expect(throughDeltas.counters.gaps == 0 && throughAKeyframe.counters.gaps == 0)

        // The chain starts again from a keyframe the subscriber did not take: the next delta names only that one.
        _ = try await keyframe(stamp(7, previous: nil, base: nil))
        let eighth = try await nextDelta(stamp(8, previous: 7, base: 7, previousDelta: 7), hashrate: 30)
        #expect(eighth.map { throughDeltas.receive($0, as: .delta) } == [.needsKeyframe])
        #expect(throughDeltas.counters.gaps == 1)
    }

    @Test func deltasInPartsRebuildTheNextKeyframe() async throws {
        let index = AsicMinerOperationalIndex()
        var encoder = AsicMinerPayloadEncoder(vocabulary: .asicMiner)
        var assembler = IndexStreamAssembler(keys: .of(.asic))
        let maxBytes = 4096
        for id in Int64(1)...40 { await index.put(log(id, Double(id)), receivedAt: t0) }
        let first = await index.publication(since: nil, includeSnapshot: true)
        let keyframe = encoder.keyframeParts(
            try #require(first.snapshot), stamp: stamp(1, previous: nil, base: nil), maxBytes: maxBytes)
        #expect(keyframe.count > 1)
        #expect(keyframe.allSatisfy { $0.count <= maxBytes })
        for (number, part) in keyframe.enumerated() {
            #expect(
                assembler.receive(part, as: .keyframe) == (number == keyframe.count - 1 ? .keyframeApplied : .partial))
        }
        #expect(assembler.index?.miners.count == 40 && assembler.index?.logs.count == 40)

        var version = first.version
        var sequence: UInt64 = 1
        var clock = t0
        var changedFieldRecords = 0
        for round in 1...6 {
            clock = clock.adding(seconds: 25)
            for id in Int64(1)...40 where (id + Int64(round)) % 3 == 0 {
                await index.put(log(id, Double(round * 100) + Double(id)), receivedAt: clock)
            }
            await index.upsert(AsicMiner(id: Int64(round), name: "m\(round)", activated: round % 2 == 0))
            _ = await index.delete(id: Int64(40 - round))
            _ = await index.expire(now: clock)
            let publication = await index.publication(since: version, includeSnapshot: false)
            let delta = try #require(publication.delta)
            let parts = encoder.deltaParts(
                delta, stamp: stamp(sequence + 1, previous: sequence, base: 1), maxBytes: maxBytes)
            #expect(parts.allSatisfy { $0.count <= maxBytes })
            for part in parts {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(part)) as? [String: Any])
                let changed = try #require(object["asic_miner_operational_map_changed"] as? [String: [String: Any]])
                // A log that reported again sends what changed (its hashrate and the rest follow from it), never
                // its id or its unchanged pool.
                for fields in changed.values {
                    #expect(fields["asic_miner_id"] == nil && fields["pool_1_address"] == nil && !fields.isEmpty)
                }
                changedFieldRecords += changed.count
            }
            for (number, part) in parts.enumerated() {
                #expect(assembler.receive(part, as: .delta) == (number == parts.count - 1 ? .deltaApplied : .partial))
            }
            sequence += 1
            version = delta.version
        }
        // Every miner was touched; some expired, some were deleted or deactivated.
        let rebuilt = try #require(assembler.canonicalIndex())
        let fresh = await index.publication(since: nil, includeSnapshot: true)
        let check = encoder.keyframeParts(
            try #require(fresh.snapshot), stamp: stamp(sequence + 1, previous: sequence, base: nil), maxBytes: maxBytes)
        for part in check { _ = assembler.receive(part, as: .keyframe) }
        #expect(assembler.checks.last?.matched == true, "\(assembler.checks.last?.difference ?? "no check")")
        #expect(assembler.canonicalIndex() == rebuilt)
        #expect(assembler.counters.gaps == 0)
        #expect(changedFieldRecords > 20)
    }

    @Test func changedFieldsOfALogTheSubscriberDoesNotHoldAskForAKeyframe() async throws {
        let index = AsicMinerOperationalIndex()
        var encoder = AsicMinerPayloadEncoder(vocabulary: .asicMiner)
        var assembler = IndexStreamAssembler(keys: .of(.asic))
        await index.put(log(1, 10), receivedAt: t0)
        let first = await index.publication(since: nil, includeSnapshot: true)
        for part in encoder.keyframeParts(
            try #require(first.snapshot), stamp: stamp(1, previous: nil, base: nil), maxBytes: 1 << 20)
        {
            #expect(assembler.receive(part, as: .keyframe) == .keyframeApplied)
        }
        // A subscriber whose copy lost the log (as a bug or a stray message could make it) cannot merge fields.
        var held = try #require(assembler.index)
        held.logs[1] = nil
        assembler = IndexStreamAssembler(keys: .of(.asic), holding: held, sequence: 1, chain: "c1")
        await index.put(log(1, 20), receivedAt: t0.adding(seconds: 1))
        let delta = try #require(await index.publication(since: first.version, includeSnapshot: false).delta)
        let parts = encoder.deltaParts(delta, stamp: stamp(2, previous: 1, base: 1), maxBytes: 1 << 20)
        #expect(String(decoding: parts[0], as: UTF8.self).contains(#""asic_miner_operational_map_changed":{"1":{"#))
        #expect(assembler.receive(parts[0], as: .delta) == .needsKeyframe)
        #expect(assembler.index == nil)
        #expect(assembler.counters.gaps == 1)
    }

    @Test func aDeltaThatDoesNotFollowAsksForAKeyframe() async throws {
        let index = AsicMinerOperationalIndex()
        var encoder = AsicMinerPayloadEncoder(vocabulary: .asicMiner)
        var assembler = IndexStreamAssembler(keys: .of(.asic))
        await index.put(log(1, 10), receivedAt: t0)
        let first = await index.publication(since: nil, includeSnapshot: true)
        let snapshot = try #require(first.snapshot)

        // Joining late: a delta before any keyframe.
        await index.put(log(2, 10), receivedAt: t0)
        let delta = try #require(await index.publication(since: first.version, includeSnapshot: false).delta)
        let deltaBody = encoder.deltaParts(delta, stamp: stamp(2, previous: 1, base: 1), maxBytes: 1 << 20)
        #expect(assembler.receive(deltaBody[0], as: .delta) == .needsKeyframe)

        for part in encoder.keyframeParts(snapshot, stamp: stamp(1, previous: nil, base: nil), maxBytes: 1 << 20) {
            #expect(assembler.receive(part, as: .keyframe) == .keyframeApplied)
        }
        #expect(assembler.receive(deltaBody[0], as: .delta) == .deltaApplied)
        #expect(assembler.receive(deltaBody[0], as: .delta) == .stale)
        // A gap (sequence 3 is missing) drops the index.
        let after = encoder.deltaParts(delta, stamp: stamp(4, previous: 3, base: 1), maxBytes: 1 << 20)
        #expect(assembler.receive(after[0], as: .delta) == .needsKeyframe)
        #expect(assembler.index == nil)
        #expect(assembler.counters.gaps == 1)
        #expect(assembler.receive(Array("not json".utf8), as: .delta) == .unreadable("not a JSON object"))
    }

    @Test func changedFieldsAreSplicedIntoTheHeldBytesInPlace() throws {
        let held = Array(#"{"a":1,"b":"x","c":[1,{"d":"}"}],"e":null}"#.utf8)
        func splice(_ fields: String) -> String? {
            let source = RawJSON(Array(fields.utf8))
            return IndexStreamAssembler.splice(source, fields: 0..<source.bytes.count, into: held)
                .map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(splice(#"{"b":"y\"z","e":2.5}"#) == #"{"a":1,"b":"y\"z","c":[1,{"d":"}"}],"e":2.5}"#)
        #expect(splice(#"{"c":{}}"#) == #"{"a":1,"b":"x","c":{},"e":null}"#)
        #expect(splice(#"{}"#) == String(decoding: held, as: UTF8.self))
        // A key the record lacks goes at its end, and the keyframe check then compares meanings, not bytes.
        #expect(splice(#"{"f":true}"#) == #"{"a":1,"b":"x","c":[1,{"d":"}"}],"e":null,"f":true}"#)
        #expect(splice(#"{"a":1"#) == nil, "not an object")
        #expect(splice(#"[1]"#) == nil)
    }

    @Test func rawJSONFindsWhereEachValueEndsAndRefusesWhatIsNotJSON() {
        let json = RawJSON(Array(#" {"k": [1, "]", {"x": "\""}], "n": -12, "t": true} "#.utf8))
        let document = json.document()
        #expect(document == 1..<(json.bytes.count - 1))
        let members = document.flatMap { json.members(of: $0) } ?? []
        #expect(members.map { String(decoding: json.bytes[$0.key], as: UTF8.self) } == ["k", "n", "t"])
        #expect(json.elements(of: members[0].value)?.count == 3)
        #expect(json.integer(members[1].value) == -12)
        #expect(json.unsigned(members[1].value) == nil)
        for broken in [#"{"a":1"#, #"{"a" 1}"#, #"{"a":1,}"#, #"{"a":"x}"#, "", "{}}", #"{"a":[1,2}"#, #"{"a":[1}}"#] {
            let raw = RawJSON(Array(broken.utf8))
            #expect(raw.document().flatMap { raw.members(of: $0) } == nil, "\(broken)")
        }
        #expect(RawJSON(Array("99999999999999999999".utf8)).unsigned(0..<20) == nil, "past 64 bits")
    }

    @Test func canonicalJSONIgnoresKeyOrderAndKeepsEveryValueApart() throws {
        func canonical(_ text: String) throws -> String {
            let value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
            return String(decoding: IndexStreamAssembler.canonical(value), as: UTF8.self)
        }
        #expect(
            try canonical(#"{"b":1,"a":{"d":[true,null],"c":"x"}}"#)
                == canonical(#"{"a":{"c":"x","d":[true,null]},"b":1}"#))
        #expect(try canonical(#"{"b":1,"a":{"d":[true,null],"c":"x"}}"#) == #"{"a":{"c":"x","d":[true,null]},"b":1}"#)
        // A boolean is not the number 1, an integer keeps every digit, a fraction its shortest form.
        #expect(
            try canonical(#"[true,1,false,0,12345678901234567,-3,0.1,1.5e300]"#)
                == "[true,1,false,0,12345678901234567,-3,0.1,1.5e+300]")
        // Escapes come out as JSON that parses back to the same string; keys sort by bytes, not by locale.
        let escaped = try canonical(#"{"é":"q\"\\\n\u0001","Z":"","a":"ünï"}"#)
        #expect(escaped == #"{"Z":"","a":"ünï","é":"q\"\\\u000a\u0001"}"#)
        let parsed = try #require(JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String])
        #expect(parsed["é"] == "q\"\\\n\u{1}")
    }
}
