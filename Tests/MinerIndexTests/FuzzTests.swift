import Testing

@testable import MinerIndex

/// Hostile and broken bodies: nothing may crash, and every failure must be a `RecordDecodingError`. The
/// generator is seeded so a failure reproduces.
@Suite struct FuzzTests {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    let decoder = MinerMessageDecoder()
    let keys = MinerMessageDecoder.RoutingKey.allCases.map(\.rawValue)

    /// Runs one case; returns whether it decoded. The typed throw makes any other error a compile error, and
    /// the test asserts the error is described with a field.
    func attempt(_ key: String, _ body: [UInt8]) -> Bool {
        do {
            _ = try decoder.decode(routingKey: key, body: body)
            return true
        } catch {
            #expect(!error.field.isEmpty)
            #expect(error.description.hasPrefix(error.field + ": "))
            return false
        }
    }

    @Test func randomBytes() {
        var random = SplitMix64(state: 1)
        for index in 0..<3000 {
            let length = Int.random(in: 0...300, using: &random)
            var body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            if index % 3 == 0, !body.isEmpty { body[0] = UInt8(ascii: "{") }
            _ = attempt(keys[index % keys.count], body)
        }
    }

    @Test func truncatedValidBodies() {
        let asic = Fixtures.json(Fixtures.asicLogObject())
        let rig = Fixtures.json(Fixtures.cpuGpuLogObject())
        var decodedPrefixes = 0
        for length in 0..<asic.count where attempt("asic_miner.log", Array(asic.prefix(length))) {
            decodedPrefixes += 1
        }
        for length in 0..<rig.count where attempt("cpu_gpu_miner.log", Array(rig.prefix(length))) {
            decodedPrefixes += 1
        }
        // A strict prefix of an object is never a complete object.
        #expect(decodedPrefixes == 0)
        #expect(attempt("asic_miner.log", asic))
        #expect(attempt("cpu_gpu_miner.log", rig))
    }

    @Test func randomMutationsOfValidBodies() {
        var random = SplitMix64(state: 2)
        let seeds: [(String, [UInt8])] = [
            ("asic_miner.log", Fixtures.json(Fixtures.asicLogObject())),
            ("cpu_gpu_miner.log", Fixtures.json(Fixtures.cpuGpuLogObject())),
            (
                "asic_miner.upsert",
                Fixtures.json(["id": 1, "activated": true, "name": "a", "inserted_at": "2024-01-01T00:00:00Z"])
            ),
            ("cpu_gpu_miner.delete", Array(#"{"id": 12}"#.utf8)),
        ]
        let interesting: [UInt8] = Array("{}[]\",:-0123456789.eE\\ntfu".utf8) + [0, 0x7F, 0xC3, 0xFF]
        var outcomes = (decoded: 0, rejected: 0)
        for index in 0..<4000 {
            let (key, seed) = seeds[index % seeds.count]
            var body = seed
            for _ in 0..<Int.random(in: 1...4, using: &random) where !body.isEmpty {
                let position = Int.random(in: 0..<body.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: body[position] = interesting.randomElement(using: &random) ?? 0
                case 1: body.remove(at: position)
                default: body.insert(interesting.randomElement(using: &random) ?? 0, at: position)
                }
            }
            if attempt(key, body) { outcomes.decoded += 1 } else { outcomes.rejected += 1 }
        }
        // Both paths must be exercised, or the fuzzing proves nothing.
        #expect(outcomes.decoded > 0)
        #expect(outcomes.rejected > 0)
    }

    @Test func deeplyNestedAndOversizedValues() {
        let nested = Array(
            ("{\"asic_miner_id\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}")
                .utf8)
        #expect(!attempt("asic_miner.log", nested))
        let manyKeys = Array(("{" + (0..<3000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "}").utf8)
        #expect(!attempt("asic_miner.log", manyKeys))
    }
}
