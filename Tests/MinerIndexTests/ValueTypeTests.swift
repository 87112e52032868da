import Foundation
import Testing

@testable import MinerIndex

@Suite struct HashrateTests {
    @Test func convertsByFactorsOfAThousand() {
        #expect(Hashrate(1, .kilohashesPerSecond).hashesPerSecond == 1_000)
        #expect(Hashrate(2.5, .terahashesPerSecond).hashesPerSecond == 2.5e12)
        #expect(Hashrate(1, .petahashesPerSecond).hashesPerSecond == 1e15)
    }

    @Test func displayHidesTheBinaryNoiseOfSums() {
        var sum = Hashrate.zero
        for reading in [22.4746, 32.5796, 39.4362, 4.693, 1.4174] { sum += Hashrate(reading, .kilohashesPerSecond) }
        #expect(sum.hashesPerSecond != 100_600.8)  // the binary sum itself is off in its last bits
        #expect(sum.display == .init(value: 100.6008, unit: .kilohashesPerSecond))
    }

    @Test func displayPicksTheLargestUnitAtLeastOne() {
        #expect(Hashrate(1500, .gigahashesPerSecond).display == .init(value: 1.5, unit: .terahashesPerSecond))
        #expect(Hashrate.zero.display == .init(value: 0, unit: .hashesPerSecond))
        #expect(Hashrate(hashesPerSecond: 0.5).display == .init(value: 0.5, unit: .hashesPerSecond))
        #expect(Hashrate(999, .megahashesPerSecond).display == .init(value: 999, unit: .megahashesPerSecond))
        #expect(Hashrate(1000, .megahashesPerSecond).display == .init(value: 1, unit: .gigahashesPerSecond))
        #expect(Hashrate(2500, .petahashesPerSecond).display == .init(value: 2.5, unit: .exahashesPerSecond))
        #expect(Hashrate(3_000_000, .petahashesPerSecond).display == .init(value: 3000, unit: .exahashesPerSecond))
        #expect(Hashrate(1500, .gigahashesPerSecond).display.description == "1.5 TH/s")
    }

    @Test func coinNamesNormalise() {
        #expect(CoinName.normalized("bitcoin") == "Bitcoin")
        #expect(CoinName.normalized("  BITCOIN \n") == "Bitcoin")
        #expect(CoinName.normalized("bItCoIn cash") == "Bitcoin cash")
        #expect(CoinName.normalized("ÉTHER") == "Éther")
        #expect(CoinName.normalized("   ") == "")
    }
}

@Suite struct TimestampTests {
    @Test func parsesTheProducerShapes() {
        let base = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)
        #expect(ISO8601Timestamp.parse("2023-11-14T22:13:20Z") == base)
        #expect(ISO8601Timestamp.parse("2023-11-14T22:13:20") == base)
        #expect(ISO8601Timestamp.parse("2023-11-14 22:13:20Z") == base)
        #expect(ISO8601Timestamp.parse("2023-11-14T22:13:20.5Z") == base.adding(seconds: 0.5))
        #expect(
            ISO8601Timestamp.parse("2023-11-14T22:13:20.123456789Z")?.microsecondsSinceEpoch
                == base.microsecondsSinceEpoch + 123_456)
        #expect(ISO8601Timestamp.parse("2023-11-15T00:13:20+02:00") == base)
        #expect(ISO8601Timestamp.parse("2023-11-14T21:13:20-0100") == base)
        #expect(ISO8601Timestamp.parse("1970-01-01T00:00:00Z") == Timestamp(microsecondsSinceEpoch: 0))
        #expect(ISO8601Timestamp.parse("2024-02-29T00:00:00Z") != nil)
    }

    @Test func rejectsMalformedTimes() {
        for text in [
            "2023-11-14", "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20+25:00", "",
        ] {
            #expect(ISO8601Timestamp.parse(text) == nil, "\(text)")
        }
    }

    @Test func formatsRoundTrip() {
        #expect(
            ISO8601Timestamp.format(Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)) == "2023-11-14T22:13:20Z")
        #expect(
            ISO8601Timestamp.format(Timestamp(microsecondsSinceEpoch: 1_700_000_000_250_000))
                == "2023-11-14T22:13:20.250Z")
        #expect(
            ISO8601Timestamp.format(Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_007))
                == "2023-11-14T22:13:20.000007Z")
        #expect(ISO8601Timestamp.format(Timestamp(microsecondsSinceEpoch: -1_000_000)) == "1969-12-31T23:59:59Z")
        for micros in stride(from: Int64(-10_000_000_000_000), to: 4_000_000_000_000_000, by: 97_654_321_987) {
            let timestamp = Timestamp(microsecondsSinceEpoch: micros)
            #expect(ISO8601Timestamp.parse(ISO8601Timestamp.format(timestamp)) == timestamp)
        }
    }
}

/// No conversion into or out of `Timestamp` may trap, whatever the input.
@Suite struct TimestampConversionTests {
    static let extremes: [Double] = [
        .nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 9.3e12, -9.3e12,
        Double(UInt64.max), 4.611686018427388e18, 1.8e308,
    ]

    @Test(arguments: extremes) func checkedConversionRefusesWhatInt64MicrosecondsCannotHold(_ seconds: Double) {
        #expect(Timestamp(exactlySecondsSinceEpoch: seconds) == nil)
    }

    @Test func checkedConversionKeepsEveryRepresentableTime() {
        #expect(Timestamp(exactlySecondsSinceEpoch: 0) == Timestamp(microsecondsSinceEpoch: 0))
        #expect(Timestamp(exactlySecondsSinceEpoch: 1_700_000_000.25)?.microsecondsSinceEpoch == 1_700_000_000_250_000)
        #expect(Timestamp(exactlySecondsSinceEpoch: 253_402_300_799)?.description == "9999-12-31T23:59:59Z")
        #expect(Timestamp(exactlySecondsSinceEpoch: -62_135_596_800)?.description == "0001-01-01T00:00:00Z")
        // The largest whole second below 2^63 microseconds.
        #expect(Timestamp(exactlySecondsSinceEpoch: 9_223_372_036_854) != nil)
    }

    @Test func saturatingConversionPinsToTheEndsAndNaNIsTheEpoch() {
        #expect(Timestamp(secondsSinceEpoch: .nan).microsecondsSinceEpoch == 0)
        #expect(Timestamp(secondsSinceEpoch: .infinity).microsecondsSinceEpoch == .max)
        #expect(Timestamp(secondsSinceEpoch: -.infinity).microsecondsSinceEpoch == .min)
        #expect(Timestamp(secondsSinceEpoch: 4.611686018427388e18).microsecondsSinceEpoch == .max)
        #expect(Timestamp(Date(timeIntervalSince1970: 1e300)).microsecondsSinceEpoch == .max)
        #expect(Timestamp(Date.distantPast).microsecondsSinceEpoch < 0)
    }

    @Test func addingSaturatesInsteadOfOverflowing() {
        let late = Timestamp(microsecondsSinceEpoch: .max - 10)
        #expect(late.adding(seconds: 1).microsecondsSinceEpoch == .max)
        #expect(late.adding(seconds: .infinity).microsecondsSinceEpoch == .max)
        let early = Timestamp(microsecondsSinceEpoch: .min + 10)
        #expect(early.adding(seconds: -1).microsecondsSinceEpoch == .min)
        #expect(early.adding(seconds: .nan) == early)
    }

    @Test func theEndsOfTheRangeFormatWithoutTrapping() {
        #expect(Timestamp(microsecondsSinceEpoch: .max).description.hasPrefix("294247-01-10T04:00:54.775807Z"))
        #expect(Timestamp(microsecondsSinceEpoch: .min).description.hasPrefix("-290308-12-21T19:59:05.224192Z"))
    }
}
