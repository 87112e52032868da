import Foundation
import Testing

@testable import MinerIndex

@Suite struct DecodingTests {
    let decoder = MinerMessageDecoder()

    func asicLogError(_ object: [String: Any]) -> String? {
        do {
            _ = try AsicMinerLog.decode(json: Fixtures.json(object))
            return nil
        } catch {
            return error.description
        }
    }

    func cpuGpuLogError(_ object: [String: Any]) -> String? {
        do {
            _ = try CpuGpuMinerLog.decode(json: Fixtures.json(object))
            return nil
        } catch {
            return error.description
        }
    }

    @Test func decodesACompleteAsicLog() throws {
        let command = try decoder.decode(
            routingKey: "asic_miner.log", body: Fixtures.json(Fixtures.asicLogObject(id: 42)))
        guard case let .asic(.log(log)) = command else {
            Issue.record("expected an ASIC log, got \(command)")
            return
        }
        #expect(log.asicMinerId == 42)
        #expect(log.hashrate5Min == 95.5)
        #expect(log.hashrateUnit == .terahashesPerSecond)
        #expect(log.pools[2].address == "stratum+tcp://btc.pool3.example.com:3333")
        #expect(log.pools[1].acceptedShare == 246_912)
        #expect(log.hashboards[0].temperature1 == 64.5)
        #expect(log.hashboards[2].temperature2 == 71)
        #expect(log.fanSpeeds == [5410, 5420, 5430, 5440])
        #expect(log.power == 3250)
        #expect(log.insertedAt == ISO8601Timestamp.parse("2023-11-14T22:13:20Z"))
    }

    @Test func decodesACompleteCpuGpuLog() throws {
        let command = try decoder.decode(
            routingKey: "cpu_gpu_miner.log",
            body: Fixtures.json(Fixtures.cpuGpuLogObject(id: 7)))
        guard case let .cpuGpu(.log(log)) = command else {
            Issue.record("expected a CPU/GPU log, got \(command)")
            return
        }
        #expect(log.cpuGpuMinerId == 7)
        #expect(log.cpuMining == .init(coinName: "monero", algorithm: "RandomX", hashrateUnit: .kilohashesPerSecond))
        #expect(log.cpuHashrate == 14.2)
        #expect(log.gpus[7].coreTemperature == 66)
        #expect(log.gpuSlots[1].mining?.hashrateUnit == .gigahashesPerSecond)
        #expect(log.gpuFanUnit == .percent)
    }

    /// A body with spare capacity is parsed where it is, and whatever that capacity holds is not part of it: the
    /// same log decodes alike with and without the copy, and a body cut short stays invalid even when the bytes
    /// after it would complete it.
    @Test func aBodyReadInPlaceEndsAtItsLengthWhateverFollowsIt() throws {
        func withSpareCapacity(_ body: [UInt8], filledWith tail: [UInt8]) -> [UInt8] {
            var storage = body + tail + [UInt8](repeating: UInt8(ascii: "9"), count: 128)
            storage.removeLast(storage.count - body.count)
            return storage
        }
        for object in [Fixtures.asicLogObject(id: 3), Fixtures.cpuGpuLogObject(id: 3)] {
            let body = Fixtures.json(object)
            let key = object["asic_miner_id"] == nil ? "cpu_gpu_miner.log" : "asic_miner.log"
            let padded = withSpareCapacity(body, filledWith: Array(#", "extra": 1}"#.utf8))
            #expect(padded.capacity - padded.count >= 64)
            #expect(try decoder.decode(routingKey: key, body: padded) == decoder.decode(routingKey: key, body: body))

            let cut = Array(body.dropLast())
            let completedAfterTheEnd = withSpareCapacity(cut, filledWith: Array("}".utf8))
            #expect(throws: RecordDecodingError(field: "body", problem: .invalidJSON)) {
                try decoder.decode(routingKey: key, body: completedAfterTheEnd)
            }
        }
    }

    @Test func routesEveryKey() throws {
        let upsert = Fixtures.json(["id": 5, "name": "S19-5", "activated": false, "api_code": "secret"])
        #expect(
            try decoder.decode(routingKey: "asic_miner.upsert", body: upsert)
                == .asic(.upsert(AsicMiner(id: 5, name: "S19-5", activated: false))))
        #expect(
            try decoder.decode(routingKey: "cpu_gpu_miner.upsert", body: upsert)
                == .cpuGpu(.upsert(CpuGpuMiner(id: 5, name: "S19-5", activated: false))))
        #expect(
            try decoder.decode(routingKey: "asic_miner.delete", body: Array(#"{"id": 9}"#.utf8))
                == .asic(.delete(id: 9)))
        #expect(
            try decoder.decode(routingKey: "cpu_gpu_miner.delete", body: Array(#"{"id": 9.0}"#.utf8))
                == .cpuGpu(.delete(id: 9)))
    }

    @Test func unknownRoutingKeyIsAnError() {
        #expect(throws: RecordDecodingError(field: "routing_key", problem: .unknownRoutingKey("asic_miner.explode"))) {
            try decoder.decode(routingKey: "asic_miner.explode", body: Array("{}".utf8))
        }
    }

    @Test func acceptsFloatsWhereTheReferenceSaysInteger() throws {
        let log = try AsicMinerLog.decode(
            json: Fixtures.json(
                Fixtures.asicLogObject(overrides: [
                    "power": 3250.75, "fan_1_speed": 5400.0, "pool_1_accepted_share": 10.5, "asic_miner_id": 3.0,
                ])))
        #expect(log.power == 3250.75)
        #expect(log.fanSpeeds[0] == 5400)
        #expect(log.asicMinerId == 3)
    }

    @Test func unitsMatchCaseInsensitively() throws {
        for (text, unit) in [
            ("th/s", HashrateUnit.terahashesPerSecond), ("Gh/S", .gigahashesPerSecond),
            ("h/s", .hashesPerSecond), ("PH/s", .petahashesPerSecond), ("kH/s", .kilohashesPerSecond),
            ("MH/S", .megahashesPerSecond),
        ] {
            let log = try AsicMinerLog.decode(
                json: Fixtures.json(Fixtures.asicLogObject(overrides: ["hashrate_uom": text])))
            #expect(log.hashrateUnit == unit, "\(text)")
        }
    }

    @Test func nullOptionalFieldsAreAbsent() throws {
        let log = try AsicMinerLog.decode(
            json: Fixtures.json(
                Fixtures.asicLogObject(overrides: [
                    "wan_ip": NSNull(), "pool_2_address": NSNull(),
                ])))
        #expect(log.wanIp == nil)
        #expect(log.pools[1].address == nil)
    }

    @Test func apiCodeIsNotKept() throws {
        let log = try AsicMinerLog.decode(json: Fixtures.json(Fixtures.asicLogObject()))
        let miner = try AsicMiner.decode(json: Fixtures.json(["id": 1, "activated": true, "api_code": "s3cr3t"]))
        let rig = try CpuGpuMiner.decode(json: Fixtures.json(["id": 1, "activated": true, "api_code": "s3cr3t"]))
        let rigLog = try CpuGpuMinerLog.decode(json: Fixtures.json(Fixtures.cpuGpuLogObject()))
        for encoded in [log.encodedJSON(), miner.encodedJSON(), rig.encodedJSON(), rigLog.encodedJSON()] {
            let text = String(decoding: encoded, as: UTF8.self)
            #expect(!text.contains("api_code"))
            #expect(!text.contains("s3cr3t"))
            #expect(!text.contains("rig-secret"))
        }
    }

    // MARK: Every validation error

    @Test func bodyThatIsNotAnObject() {
        for body in ["[1,2]", "42", "\"text\"", "null", "true"] {
            #expect(throws: RecordDecodingError(field: "body", problem: .notAnObject)) {
                try decoder.decode(routingKey: "asic_miner.log", body: Array(body.utf8))
            }
        }
    }

    @Test func bodyThatIsNotJSON() {
        for body in ["", "{", "{\"a\":}", "nonsense", "{\"a\":1}{"] {
            #expect(throws: RecordDecodingError(field: "body", problem: .invalidJSON)) {
                try decoder.decode(routingKey: "asic_miner.log", body: Array(body.utf8))
            }
        }
    }

    /// Unknown fields are skipped, but a malformed value must still fail the message wherever it is: in a field
    /// nobody reads, nested in a container, or after the object.
    @Test func malformedValuesInFieldsNobodyReads() {
        let valid = String(decoding: Fixtures.json(Fixtures.asicLogObject()), as: UTF8.self)
        let withoutBrace = String(valid.dropLast())
        let malformedTails = [
            #","extra":tru}"#, #","extra":nul}"#, #","extra":1.5e}"#, #","extra":01}"#, #","extra":12ab}"#,
            #","extra":"bad \x escape"}"#, #","extra":[1,,2]}"#, #","extra":[1,2}}"#, #","extra":{"a" 1}}"#,
            #","extra":{"a":[tru]}}"#, #","extra":1 "more":2}"#, #","extra":1,}"#, "} x", "}}", "}]",
        ]
        for tail in malformedTails {
            #expect(throws: RecordDecodingError(field: "body", problem: .invalidJSON), "tail \(tail)") {
                try decoder.decode(routingKey: "asic_miner.log", body: Array((withoutBrace + tail).utf8))
            }
        }
        let wellFormedTails = [#","extra":[1,{"a":[true,null]}],"more":{"b":"\u00e9"}}"#, "}  \n"]
        for tail in wellFormedTails {
            #expect(throws: Never.self, "tail \(tail)") {
                try decoder.decode(routingKey: "asic_miner.log", body: Array((withoutBrace + tail).utf8))
            }
        }
    }

    /// The parser guesses each key from the order of the previous message; a wrong guess must only cost time.
    @Test func keyOrderChangesBetweenMessagesDecodeAlike() throws {
        let object = Fixtures.asicLogObject(overrides: ["unknown_extra": 1])
        func body(keys: [String]) -> [UInt8] {
            let members = keys.map { key in
                String(decoding: Fixtures.json([key: object[key] as Any]).dropFirst().dropLast(), as: UTF8.self)
            }
            return Array(("{" + members.joined(separator: ",") + "}").utf8)
        }
        let sorted = object.keys.sorted()
        var generator = SystemRandomNumberGenerator()
        let orders = [sorted, sorted.reversed(), sorted.shuffled(using: &generator), sorted.filter { $0 != "wan_ip" }]
        guard
            case let .asic(.log(expected)) = try decoder.decode(routingKey: "asic_miner.log", body: body(keys: sorted))
        else { Issue.record("not an ASIC log"); return }
        for round in 0..<20 {
            let keys = orders[round % orders.count]
            guard case var .asic(.log(log)) = try decoder.decode(routingKey: "asic_miner.log", body: body(keys: keys))
            else { Issue.record("not an ASIC log"); return }
            if !keys.contains("wan_ip") {
                #expect(log.wanIp == nil)
                log.wanIp = expected.wanIp
            }
            #expect(log == expected, "round \(round)")
        }
    }

    @Test func escapedKeysAreMatched() throws {
        let body =
            #"{"asic_miner_\u0069d":7,"#
            + String(
                decoding: Fixtures.json(
                    Fixtures.asicLogObject(
                        removing: ["asic_miner_id"])), as: UTF8.self
            ).dropFirst()
        guard case let .asic(.log(log)) = try decoder.decode(routingKey: "asic_miner.log", body: Array(body.utf8))
        else { Issue.record("not an ASIC log"); return }
        #expect(log.asicMinerId == 7)
    }

    @Test func oversizedBodyIsRejectedBeforeParsing() {
        // Ten megabytes of bytes that are not JSON at all: only the size check can produce this error.
        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000_000)
        #expect(throws: RecordDecodingError(field: "body", problem: .bodyTooLarge(size: 10_000_000, limit: 65_536))) {
            try decoder.decode(routingKey: "asic_miner.log", body: huge)
        }
        let error = RecordDecodingError(field: "body", problem: .bodyTooLarge(size: 70_000, limit: 65_536))
        #expect(error.description == "body: 70000 bytes exceeds the 65536-byte limit")
        let small = MinerMessageDecoder(limits: DecodingLimits(maxBodyBytes: 100))
        #expect(throws: RecordDecodingError(field: "body", problem: .bodyTooLarge(size: 101, limit: 100))) {
            try small.decode(routingKey: "asic_miner.delete", body: [UInt8](repeating: 32, count: 101))
        }
    }

    @Test func bufferEntryPointsEnforceTheLimitsToo() {
        let body = Fixtures.json(Fixtures.asicLogObject())
        let limits = DecodingLimits(maxBodyBytes: 100)
        let tooLarge = RecordDecodingError(field: "body", problem: .bodyTooLarge(size: body.count, limit: 100))
        body.withUnsafeBytes { buffer in
            #expect(throws: tooLarge) { try AsicMinerLog.decode(json: buffer, limits: limits) }
            #expect(throws: RecordDecodingError(field: "body", problem: .invalidJSON)) {
                try CpuGpuMinerLog.decode(json: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
    }

    @Test func missingRequiredFields() {
        for key in [
            "asic_miner_id", "hashrate_5_min", "hashrate_uom", "uptime", "pool_1_address", "pool_1_user",
            "pool_1_state", "hashboard_1_temp_1", "fan_1_speed", "lan_ip", "coin_name", "power",
        ] {
            #expect(asicLogError(Fixtures.asicLogObject(removing: [key])) == "\(key): missing required field")
        }
        #expect(asicLogError(Fixtures.asicLogObject(removing: ["pool_2_address", "wan_ip", "inserted_at"])) == nil)
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(removing: ["cpu_gpu_miner_id"]))
                == "cpu_gpu_miner_id: missing required field")
        #expect(throws: RecordDecodingError(field: "activated", problem: .missingRequiredField)) {
            try AsicMiner.decode(json: Fixtures.json(["id": 3]))
        }
        #expect(throws: RecordDecodingError(field: "id", problem: .missingRequiredField)) {
            try decoder.decode(routingKey: "cpu_gpu_miner.delete", body: Array("{}".utf8))
        }
    }

    @Test func wrongTypes() {
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["power": "3250"]))
                == "power: expected a number, found a string")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["coin_name": 7]))
                == "coin_name: expected a string, found a number")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["asic_miner_id": "1"]))
                == "asic_miner_id: expected an integer, found a string")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["fan_2_speed": [1, 2]]))
                == "fan_2_speed: expected a number, found an array")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["uptime": ["d": 1]]))
                == "uptime: expected a string, found an object")
        #expect(
            throws: RecordDecodingError(
                field: "activated", problem: .wrongType(expected: "a boolean", found: "a string"))
        ) {
            try AsicMiner.decode(json: Fixtures.json(["id": 3, "activated": "yes"]))
        }
    }

    @Test func idsMustBeNonNegativeIntegers() {
        for bad in [-1.0, 1.5] {
            #expect(
                asicLogError(Fixtures.asicLogObject(overrides: ["asic_miner_id": bad]))
                    == "asic_miner_id: must be a non-negative integer that fits in 64 bits")
        }
        #expect(throws: RecordDecodingError(field: "id", problem: .notAnInteger)) {
            try decoder.decode(routingKey: "asic_miner.delete", body: Array(#"{"id": 18446744073709551615}"#.utf8))
        }
    }

    @Test func negativeNumbers() {
        for key in ["power", "hashrate_5_min", "hashboard_1_temp_1", "hashboard_2_temp_2", "fan_3_speed"] {
            #expect(
                asicLogError(Fixtures.asicLogObject(overrides: [key: -1]))
                    == "\(key): must be a finite non-negative number")
        }
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(overrides: ["gpu_3_power": -0.5]))
                == "gpu_3_power: must be a finite non-negative number")
    }

    @Test func nonFiniteNumbers() {
        // JSON cannot spell infinity, but a huge exponent overflows; and a finite PH/s figure can overflow in H/s.
        let overflowing = Array(
            String(decoding: Fixtures.json(Fixtures.asicLogObject()), as: UTF8.self)
                .replacingOccurrences(of: "\"power\":3250", with: "\"power\":1e999").utf8)
        #expect(throws: RecordDecodingError.self) { try AsicMinerLog.decode(json: overflowing) }
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["hashrate_5_min": 1e300, "hashrate_uom": "PH/s"]))
                == "hashrate_5_min: must be at most 1e+18")
    }

    @Test func figuresTheTotalsCannotCarryAreRefused() {
        #expect(asicLogError(Fixtures.asicLogObject(overrides: ["power": 1e18])) == nil)
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["power": 1.0000001e18])) == "power: must be at most 1e+18")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["fan_2_speed": 1e300]))
                == "fan_2_speed: must be at most 1e+18")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["hashrate_5_min": 0.9e9, "hashrate_uom": "PH/s"])) == nil)
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["hashrate_5_min": 1.5e9, "hashrate_uom": "PH/s"]))
                == "hashrate_5_min: must be at most 1e+24 H/s")
        #expect(
            cpuGpuLogError(
                Fixtures.cpuGpuLogObject(overrides: [
                    "gpu_1_hashrate_1": 1e18, "gpu_2_hashrate_1": 1e18,
                    "gpu_hashrate_uom_1": "MH/s",
                ]))
                == "gpu_n_hashrate_1: must be at most 1e+24 H/s")
    }

    @Test func unknownHashrateUnit() {
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["hashrate_uom": "ZH/s"]))
                == "hashrate_uom: unknown unit 'ZH/s'")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["hashrate_uom": "EH/s"]))
                == "hashrate_uom: unknown unit 'EH/s'")
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(overrides: ["gpu_hashrate_uom_2": "Sol/s"]))
                == "gpu_hashrate_uom_2: unknown unit 'Sol/s'")
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(overrides: ["gpu_fan_uom": "rpmx"]))
                == "gpu_fan_uom: unknown fan unit 'rpmx' (expected % or RPM)")
    }

    @Test func partialCoinGroups() {
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(removing: ["cpu_hashrate_uom"]))
                == "cpu_hashrate_uom: missing while cpu_coin_name is present (the group is all or nothing)")
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(removing: ["cpu_coin_name"]))
                == "cpu_coin_name: missing while cpu_algorithm is present (the group is all or nothing)")
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(removing: ["gpu_algorithm_1"]))
                == "gpu_algorithm_1: missing while gpu_coin_name_1 is present (the group is all or nothing)")
        #expect(
            cpuGpuLogError(Fixtures.cpuGpuLogObject(removing: ["gpu_coin_name_2", "gpu_algorithm_2"]))
                == "gpu_coin_name_2: missing while gpu_hashrate_uom_2 is present (the group is all or nothing)")
        // A whole group may be absent.
        #expect(
            cpuGpuLogError(
                Fixtures.cpuGpuLogObject(removing: [
                    "cpu_coin_name", "cpu_algorithm", "cpu_hashrate", "cpu_hashrate_uom",
                    "gpu_coin_name_2", "gpu_algorithm_2", "gpu_hashrate_uom_2",
                ])) == nil)
    }

    @Test func stringLongerThanTheLimit() {
        let long = String(repeating: "a", count: 257)
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["pool_2_user": long]))
                == "pool_2_user: string of 257 bytes exceeds the 256-byte limit")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["pool_2_user": String(repeating: "a", count: 256)])) == nil)
        // Bytes, not characters: 129 two-byte characters are 258 bytes.
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["uptime": String(repeating: "é", count: 129)]))
                == "uptime: string of 258 bytes exceeds the 256-byte limit")
    }

    @Test func invalidTimestamp() {
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["inserted_at": "yesterday"]))
                == "inserted_at: not an ISO-8601 timestamp")
        #expect(
            asicLogError(Fixtures.asicLogObject(overrides: ["inserted_at": "2023-02-30T00:00:00Z"]))
                == "inserted_at: not an ISO-8601 timestamp")
    }

    @Test func unknownFieldsAreIgnored() throws {
        let log = try AsicMinerLog.decode(
            json: Fixtures.json(
                Fixtures.asicLogObject(overrides: [
                    "firmware_extra": ["nested": [1, 2, 3]], "pool_4_address": "x",
                ])))
        #expect(log.asicMinerId == 1)
    }
}
