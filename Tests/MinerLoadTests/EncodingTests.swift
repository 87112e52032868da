import Testing

@testable import MinerLoadKit

@Suite struct EncodingTests {
    @Test func fixedDecimalsWriteTheTextWhoseParsedValueTheyReport() {
        for (value, decimals, text) in [
            (12.345, 3, "12.345"), (0.00042, 5, "0.00042"), (-120.0, 0, "-120"),
            (3250.5, 1, "3250.5"), (0, 2, "0.00"), (140_000.07, 2, "140000.07"),
        ] {
            let fixed = FixedDecimal(value, decimals: decimals)
            var bytes: [UInt8] = []
            fixed.write(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == text)
            #expect(Double(text) == fixed.value)
        }
    }

    @Test func theWriterEscapesWhatWouldBreakTheJSON() {
        var writer = JSONBodyWriter()
        writer.string("name", "quote \" backslash \\ newline \n")
        writer.integer("id", -5)
        writer.bool("activated", false)
        #expect(
            String(decoding: writer.finish(), as: UTF8.self)
                == #"{"name":"quote \" backslash \\ newline \u000a","id":-5,"activated":false}"#)
    }

    @Test func editingRemovesOrReplacesOneMember() {
        let body = Array(#"{"a":1,"b":"x,y","c":3}"#.utf8)
        #expect(
            String(decoding: JSONBodyEditing.removing(key: "a", from: body), as: UTF8.self) == #"{"b":"x,y","c":3}"#)
        #expect(
            String(decoding: JSONBodyEditing.removing(key: "c", from: body), as: UTF8.self) == #"{"a":1,"b":"x,y"}"#)
        #expect(
            String(decoding: JSONBodyEditing.replacing(key: "b", with: "-1", in: body), as: UTF8.self)
                == #"{"a":1,"b":-1,"c":3}"#)
    }
}
