import BrokerTestSupport
import Foundation
import MinerIndex
import Testing

@testable import MinerIndexState

@Suite struct CodecTests {
    @Test func numbersReadBackBitForBit() throws {
        var records = RandomRecords(seed: 1)
        var writer = BinaryWriter()
        var values: [Double?] = []
        for _ in 0..<20_000 { values.append(records.chance(0.1) ? nil : records.number()) }
        values += [-0.0, .infinity, -.infinity, .nan, 0.1 + 0.2, 1e-7, 9_007_199_254_740_993]
        for value in values { writer.number(value) }
        var reader = BinaryReader(writer.bytes)
        for value in values {
            let read = try reader.number()
            #expect(read?.bitPattern == value?.bitPattern, "\(String(describing: value))")
        }
        #expect(reader.isAtEnd)
    }

    @Test func decimalsTakeAFewBytes() {
        for (value, bytes) in [(65.0, 2), (110.523, 4), (3250.0, 3), (0.12, 2)] {
            var writer = BinaryWriter()
            writer.number(value)
            #expect(writer.bytes.count == bytes, "\(value) took \(writer.bytes.count) bytes")
        }
    }

    @Test func logSegmentsReadBackExactly() throws {
        var records = RandomRecords(seed: 2)
        let asic = (0..<2000).map { id in
            ObservedLog(log: records.asicLog(id: Int64(id) - 500), observedAt: records.timestamp())
        }
        let cpuGpu = (0..<500).map { id in
            ObservedLog(log: records.cpuGpuLog(id: Int64(id)), observedAt: records.timestamp())
        }
        try expectRoundTrip(asic)
        try expectRoundTrip(cpuGpu)
    }

    private func expectRoundTrip<Log: StorableLog & Equatable>(_ logs: [ObservedLog<Log>]) throws {
        let body = Segment.encode(logs)
        var reader = try Segment.Reader(body)
        var decoded: [ObservedLog<Log>] = []
        while let (id, fields) = try reader.next() {
            decoded.append(try reader.decode(ObservedLog<Log>.self, minerId: id, fields: fields))
        }
        #expect(decoded.count == logs.count)
        for (read, written) in zip(decoded, logs) {
            #expect(read.log == written.log)
            #expect(read.observedAt == written.observedAt)
        }
    }

    @Test func historySamplesReadBackExactly() throws {
        var records = RandomRecords(seed: 3)
        let samples = (0..<300).map { id in
            HistorySample(
                minerId: Int64(id),
                entry: AsicMinerHistoryEntry(
                    log: records.asicLog(id: Int64(id)),
                    observedAt: records.timestamp()))
        }
        var reader = try Segment.Reader(Segment.encode(samples))
        var decoded: [HistorySample] = []
        while let (id, fields) = try reader.next() {
            decoded.append(try reader.decode(HistorySample.self, minerId: id, fields: fields))
        }
        #expect(decoded.map(\.entry) == samples.map(\.entry))
        #expect(decoded.map(\.minerId) == samples.map(\.minerId))
    }

    @Test func anEntryLongerThanItsReservedLengthIsStillFramed() throws {
        var writer = BinaryWriter()
        let offset = writer.reserveLength()
        writer.raw([UInt8](repeating: 9, count: BinaryWriter.maximumPatchedLength + 5))
        writer.patchLength(at: offset)
        var reader = BinaryReader(writer.bytes)
        #expect(try reader.varint() == UInt64(BinaryWriter.maximumPatchedLength + 5))
        try reader.skip(BinaryWriter.maximumPatchedLength + 5)
        #expect(reader.isAtEnd)
    }

    @Test func aggregatedHistoryRowsReadBackExactly() throws {
        var records = RandomRecords(seed: 7)
        for resolution in AggregatedHistoryResolution.allCases {
            let row = AggregatedHistoryRow(
                resolution: resolution, bucketStart: records.timestamp(), samples: 37,
                figures: AggregatedHistoryFigures(
                    coinHashesPerSecond: ["Bitcoin": records.number(), "Kaspa": records.number()],
                    totalPower: records.number(), alive: 12.5, registered: 14, online: 10.25, stale: 2.25,
                    offline: 1.5, disabled: 0))
            #expect(
                try AggregatedHistoryCoding.decode(AggregatedHistoryCoding.encode(row), resolution: resolution) == row)
        }
    }

    @Test func registryRecordsReadBackExactly() throws {
        var records = RandomRecords(seed: 4)
        for id in 0..<300 {
            let asic = records.asicMiner(id: Int64(id))
            #expect(try AsicMiner.decodeRecord(asic.encodedJSON()) == asic)
            let rig = records.cpuGpuMiner(id: Int64(id))
            #expect(try CpuGpuMiner.decodeRecord(rig.encodedJSON()) == rig)
        }
    }

    /// Bytes from disk are input: damaged segments must fail with an error, never trap.
    @Test func damagedSegmentsFailCleanly() {
        var records = RandomRecords(seed: 5)
        let logs = (0..<50).map { ObservedLog(log: records.asicLog(id: Int64($0)), observedAt: records.timestamp()) }
        let body = Segment.encode(logs)
        var generator = SplitMix(state: 6)
        var failures = 0
        for round in 0..<3000 {
            var damaged = body
            if round % 3 == 0 {
                damaged = Array(body.prefix(Int.random(in: 0..<body.count, using: &generator)))
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(
                        in: 0 ... .max, using: &generator)
                }
            }
            do {
                var reader = try Segment.Reader(damaged)
                while let (id, fields) = try reader.next() {
                    _ = try reader.decode(ObservedLog<AsicMinerLog>.self, minerId: id, fields: fields)
                }
            } catch {
                failures += 1
            }
        }
        #expect(failures > 1000)
    }
}
