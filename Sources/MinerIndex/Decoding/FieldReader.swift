import CSimdJSON

/// Typed, validated access to the slots of one parsed object. Every accessor throws a `RecordDecodingError`
/// naming the slot's key, which is all the validation rules need to report.
///
/// JSON `null` counts as absent: the original producers serialise unset fields as null.
struct FieldReader {
    let slots: UnsafeBufferPointer<csj_value>
    let schema: JSONObjectSchema
    let limits: DecodingLimits

    func key(_ slot: Int) -> String { schema.keys[slot] }

    @inline(__always)
    func isPresent(_ slot: Int) -> Bool {
        let kind = slots[slot].kind
        return kind != UInt8(CSJ_ABSENT.rawValue) && kind != UInt8(CSJ_NULL.rawValue)
    }

    // Named required accessors rather than one generic taking a method reference: a partially applied method
    // is a closure, and building one per field showed up as allocations on the hot path.
    func requiredString(_ slot: Int) throws(RecordDecodingError) -> String {
        guard let value = try string(slot) else { throw missing(slot) }
        return value
    }

    func requiredMeasure(_ slot: Int) throws(RecordDecodingError) -> Double {
        guard let value = try measure(slot) else { throw missing(slot) }
        return value
    }

    func requiredIdentifier(_ slot: Int) throws(RecordDecodingError) -> Int64 {
        guard let value = try identifier(slot) else { throw missing(slot) }
        return value
    }

    func requiredHashrateUnit(_ slot: Int) throws(RecordDecodingError) -> HashrateUnit {
        guard let value = try hashrateUnit(slot) else { throw missing(slot) }
        return value
    }

    func requiredBool(_ slot: Int) throws(RecordDecodingError) -> Bool {
        guard let value = try bool(slot) else { throw missing(slot) }
        return value
    }

    private func missing(_ slot: Int) -> RecordDecodingError {
        RecordDecodingError(field: key(slot), problem: .missingRequiredField)
    }

    func string(_ slot: Int) throws(RecordDecodingError) -> String? {
        guard let bytes = try stringBytes(slot) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The raw UTF-8 of a string slot, valid only while the parse is in scope.
    func stringBytes(_ slot: Int) throws(RecordDecodingError) -> UnsafeRawBufferPointer? {
        guard isPresent(slot) else { return nil }
        let value = slots[slot]
        guard value.kind == UInt8(CSJ_STRING.rawValue) else { throw wrongType(slot, expected: "a string") }
        let length = Int(value.string_length)
        guard length <= limits.maxStringBytes else {
            throw RecordDecodingError(
                field: key(slot),
                problem: .stringTooLong(
                    length: length,
                    limit: limits.maxStringBytes))
        }
        return UnsafeRawBufferPointer(start: value.string_start, count: length)
    }

    /// Any JSON number that is finite, not negative and at most `DecodingLimits.largestMeasure`: hashrates, power,
    /// temperatures, fans, shares, clocks. Inlined, with the errors worked out out of line: a CPU/GPU log reads 70
    /// of these, and the call cost more than the checks.
    @inline(__always)
    func measure(_ slot: Int) throws(RecordDecodingError) -> Double? {
        let value = slots[slot]
        // NaN fails both comparisons, and infinity the second: `largestMeasure` is finite.
        if value.kind == UInt8(CSJ_NUMBER.rawValue), value.number >= 0, value.number <= DecodingLimits.largestMeasure {
            return value.number
        }
        guard isPresent(slot) else { return nil }
        throw measureError(slot)
    }

    @inline(never)
    private func measureError(_ slot: Int) -> RecordDecodingError {
        let value = slots[slot]
        guard value.kind == UInt8(CSJ_NUMBER.rawValue) else { return wrongType(slot, expected: "a number") }
        guard value.number.isFinite, value.number >= 0 else {
            return RecordDecodingError(field: key(slot), problem: .notFiniteNonNegative)
        }
        return RecordDecodingError(
            field: key(slot), problem: .tooLarge(maximum: DecodingLimits.largestMeasure, unit: ""))
    }

    /// An id: written as an integer or as a float with no fractional part, not negative, within Int64.
    func identifier(_ slot: Int) throws(RecordDecodingError) -> Int64? {
        guard isPresent(slot) else { return nil }
        let value = slots[slot]
        guard value.kind == UInt8(CSJ_NUMBER.rawValue) else { throw wrongType(slot, expected: "an integer") }
        if value.is_integer != 0 {
            guard value.integer >= 0 else { throw RecordDecodingError(field: key(slot), problem: .notAnInteger) }
            return value.integer
        }
        let number = value.number
        // 2^63 as a Double is exactly representable, so `<` keeps Int64(number) from trapping.
        guard number.isFinite, number >= 0, number < 9_223_372_036_854_775_808.0, number == number.rounded()
        else { throw RecordDecodingError(field: key(slot), problem: .notAnInteger) }
        return Int64(number)
    }

    func bool(_ slot: Int) throws(RecordDecodingError) -> Bool? {
        guard isPresent(slot) else { return nil }
        let value = slots[slot]
        guard value.kind == UInt8(CSJ_BOOL.rawValue) else { throw wrongType(slot, expected: "a boolean") }
        return value.boolean != 0
    }

    func timestamp(_ slot: Int) throws(RecordDecodingError) -> Timestamp? {
        guard let bytes = try stringBytes(slot) else { return nil }
        guard let timestamp = ISO8601Timestamp.parse(bytes) else {
            throw RecordDecodingError(field: key(slot), problem: .invalidTimestamp)
        }
        return timestamp
    }

    func hashrateUnit(_ slot: Int) throws(RecordDecodingError) -> HashrateUnit? {
        guard let bytes = try stringBytes(slot) else { return nil }
        guard let unit = HashrateUnit.parseInput(bytes) else {
            throw RecordDecodingError(
                field: key(slot),
                problem: .unknownHashrateUnit(String(decoding: bytes, as: UTF8.self)))
        }
        return unit
    }

    func scalar(_ slot: Int) throws(RecordDecodingError) -> ScalarValue? {
        guard isPresent(slot) else { return nil }
        if slots[slot].kind == UInt8(CSJ_STRING.rawValue) {
            return try string(slot).map(ScalarValue.text)
        }
        guard slots[slot].kind == UInt8(CSJ_NUMBER.rawValue) else {
            throw wrongType(slot, expected: "a number or a string")
        }
        return try measure(slot).map(ScalarValue.number)
    }

    /// Enforces an all-or-nothing group: if any member is present, each one must be.
    /// Three or four members, passed one by one: an array of them per call would be a heap block per log.
    func requireWholeGroup(_ first: Int, _ second: Int, _ third: Int, _ fourth: Int? = nil)
        throws(RecordDecodingError)
    {
        var present: Int?
        var missing: Int?
        func visit(_ member: Int) {
            if isPresent(member) {
                if present == nil { present = member }
            } else if missing == nil {
                missing = member
            }
        }
        visit(first)
        visit(second)
        visit(third)
        if let fourth { visit(fourth) }
        if let present, let missing {
            throw RecordDecodingError(field: key(missing), problem: .partialGroup(presentField: key(present)))
        }
    }

    private func wrongType(_ slot: Int, expected: String) -> RecordDecodingError {
        let found =
            switch Int32(slots[slot].kind) {
            case Int32(CSJ_BOOL.rawValue): "a boolean"
            case Int32(CSJ_NUMBER.rawValue): "a number"
            case Int32(CSJ_STRING.rawValue): "a string"
            case Int32(CSJ_ARRAY.rawValue): "an array"
            case Int32(CSJ_OBJECT.rawValue): "an object"
            default: "null"
            }
        return RecordDecodingError(field: key(slot), problem: .wrongType(expected: expected, found: found))
    }
}
