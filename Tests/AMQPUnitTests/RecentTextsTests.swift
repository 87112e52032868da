import Testing

@testable import AMQP

@Suite struct RecentTextsTests {
    private func read(_ bytes: [UInt8], with texts: inout RecentTexts) -> String {
        bytes.withUnsafeBytes { texts.text($0) }
    }

    /// Where the string's UTF-8 lives: two reads that share one string have the same address.
    private func storageAddress(_ text: String) -> UInt? {
        var text = text
        return text.withUTF8 { $0.baseAddress.map { UInt(bitPattern: $0) } }
    }

    @Test func aRepeatedLongTextIsSharedAndAnEqualOneIsNotConfusedWithADifferentOne() {
        var texts = RecentTexts()
        let first = read(Array("cpu_gpu_miner_log.new".utf8), with: &texts)
        let second = read(Array("cpu_gpu_miner_log.new".utf8), with: &texts)
        let other = read(Array("cpu_gpu_miner_log.neW".utf8), with: &texts)
        #expect(first == "cpu_gpu_miner_log.new")
        #expect(second == first)
        #expect(other == "cpu_gpu_miner_log.neW")
        #expect(storageAddress(second) == storageAddress(first))
        #expect(storageAddress(other) != storageAddress(first))
    }

    @Test func shortEmptyAndInvalidTextsReadAsWithoutTheCache() {
        var texts = RecentTexts()
        #expect(read([], with: &texts) == "")
        #expect(read(Array("short".utf8), with: &texts) == "short")
        let invalid: [UInt8] = Array("application/json".utf8) + [0xFF, 0xFE]
        #expect(read(invalid, with: &texts) == "application/json\u{FFFD}\u{FFFD}")
        #expect(read(invalid, with: &texts) == "application/json\u{FFFD}\u{FFFD}")
    }

    @Test func aTextEvictedByManyOthersIsStillReadCorrectly() {
        var texts = RecentTexts()
        let names = (0..<20).map { "routing.key.number.\($0)" }
        for _ in 0..<3 {
            for name in names { #expect(read(Array(name.utf8), with: &texts) == name) }
        }
    }
}
