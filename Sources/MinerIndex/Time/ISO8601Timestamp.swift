/// Reads and writes the fixed ISO-8601 shapes the producers use, without `ISO8601DateFormatter`, which costs
/// microseconds per call and would dominate decoding.
///
/// Accepted: `YYYY-MM-DD(T| )HH:MM:SS(.fraction)?(Z|±HH:MM|±HHMM)?`. A missing offset means UTC, because the
/// original system stored naive UTC datetimes and serialised them without one. Fractions beyond microseconds are
/// truncated.
public enum ISO8601Timestamp {
    public static func parse(_ text: String) -> Timestamp? {
        var copy = text
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Timestamp? {
        var cursor = Cursor(bytes: bytes)
        guard let year = cursor.digits(4), cursor.take(UInt8(ascii: "-")),
            let month = cursor.digits(2), cursor.take(UInt8(ascii: "-")),
            let day = cursor.digits(2),
            cursor.take(UInt8(ascii: "T")) || cursor.take(UInt8(ascii: "t")) || cursor.take(UInt8(ascii: " ")),
            let hour = cursor.digits(2), cursor.take(UInt8(ascii: ":")),
            let minute = cursor.digits(2), cursor.take(UInt8(ascii: ":")),
            let second = cursor.digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var microseconds: Int64 = 0
        if cursor.take(UInt8(ascii: ".")) {
            var digitCount = 0
            while let digit = cursor.digit() {
                if digitCount < 6 { microseconds = microseconds * 10 + Int64(digit) }
                digitCount += 1
            }
            guard digitCount > 0 else { return nil }
            for _ in digitCount..<max(digitCount, 6) { microseconds *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if cursor.take(UInt8(ascii: "Z")) || cursor.take(UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else if let sign = cursor.sign() {
            guard let offsetHours = cursor.digits(2) else { return nil }
            _ = cursor.take(UInt8(ascii: ":"))
            guard let offsetMinutes = cursor.digits(2), offsetHours <= 23, offsetMinutes <= 59 else { return nil }
            offsetSeconds = sign * Int64(offsetHours * 3600 + offsetMinutes * 60)
        }
        guard cursor.atEnd else { return nil }

        let days = daysFromCivil(year: Int64(year), month: Int64(month), day: Int64(day))
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - offsetSeconds
        return Timestamp(microsecondsSinceEpoch: seconds * 1_000_000 + microseconds)
    }

    /// UTC with `Z`; the fraction is omitted when zero, three digits when it is whole milliseconds, else six.
    public static func format(_ timestamp: Timestamp) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        append(timestamp, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Longest text `write` produces (a six-digit negative year with microseconds), for callers' buffers.
    static let maximumLength = 40

    static func append(_ timestamp: Timestamp, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumLength) { buffer in
            guard let base = buffer.baseAddress else { return }
            bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: write(timestamp, to: base)))
        }
    }

    /// Writes the text into `output`, which must hold `maximumLength` bytes, and returns its length.
    static func write(_ timestamp: Timestamp, to output: UnsafeMutablePointer<UInt8>) -> Int {
        var cursor = output
        func put(_ byte: UInt8) {
            cursor.pointee = byte
            cursor += 1
        }
        func digits(_ value: Int64, width: Int) {
            var remaining = value
            if remaining < 0 {
                put(UInt8(ascii: "-"))
                remaining = -remaining
            }
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            // Years past 9999 still print every digit rather than wrapping.
            while remaining / divisor >= 10 { divisor *= 10 }
            while divisor > 0 {
                put(UInt8(ascii: "0") + UInt8(remaining / divisor % 10))
                divisor /= 10
            }
        }
        let micros = timestamp.microsecondsSinceEpoch
        let totalSeconds = floorDivide(micros, 1_000_000)
        // From the remainder, not `micros - totalSeconds * 1_000_000`, which overflows near Int64.min.
        let remainder = micros % 1_000_000
        let fraction = remainder < 0 ? remainder + 1_000_000 : remainder
        let days = floorDivide(totalSeconds, 86_400)
        let secondOfDay = totalSeconds - days * 86_400
        let (year, month, day) = civilFromDays(days)
        digits(year, width: 4)
        put(UInt8(ascii: "-"))
        digits(month, width: 2)
        put(UInt8(ascii: "-"))
        digits(day, width: 2)
        put(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, width: 2)
        put(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, width: 2)
        put(UInt8(ascii: ":"))
        digits(secondOfDay % 60, width: 2)
        if fraction != 0 {
            put(UInt8(ascii: "."))
            if fraction % 1000 == 0 {
                digits(fraction / 1000, width: 3)
            } else {
                digits(fraction, width: 6)
            }
        }
        put(UInt8(ascii: "Z"))
        return cursor - output
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor < 0) ? quotient - 1 : quotient
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact proleptic Gregorian arithmetic, no tables.
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        var atEnd: Bool { position == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func digit() -> Int? {
            guard position < bytes.count else { return nil }
            let byte = bytes[position]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            position += 1
            return Int(byte - UInt8(ascii: "0"))
        }

        mutating func digits(_ count: Int) -> Int? {
            var value = 0
            for _ in 0..<count {
                guard let next = digit() else { return nil }
                value = value * 10 + next
            }
            return value
        }

        mutating func sign() -> Int64? {
            if take(UInt8(ascii: "+")) { return 1 }
            if take(UInt8(ascii: "-")) { return -1 }
            return nil
        }
    }
}
