import MinerIndex
import Testing

@testable import MinerIndexService

@Suite struct MinerListParametersTests {
    private func query(_ parameters: [(String, String)]) throws(ReadAPI.Failure) -> MinerListQuery {
        try MinerListParameters.query(parameters.map { (name: $0.0, value: $0.1) })
    }

    private func reason(_ parameters: [(String, String)]) -> String? {
        do {
            _ = try query(parameters)
            return nil
        } catch {
            guard case .badQuery(let reason) = error else { return "\(error)" }
            return reason
        }
    }

    @Test func everyParameterIsRead() throws {
        let cursor = MinerListCursor(sort: .temperature, order: .desc, value: 80, id: 12)
        let read = try query([
            ("q", "rack"), ("status", "online,stale"), ("model", "Antminer S19"), ("sort", "temperature"),
            ("order", "desc"), ("limit", "500"), ("cursor", cursor.text),
        ])
        #expect(
            read
                == MinerListQuery(
                    search: "rack", statuses: [.online, .stale], model: "Antminer S19", sort: .temperature,
                    order: .desc, limit: 500, after: cursor))
        #expect(try query([]) == MinerListQuery())
        #expect(try query([("q", ""), ("status", ""), ("model", ""), ("cursor", "")]) == MinerListQuery())
    }

    @Test func aBadParameterIsA400NamingIt() {
        let cases: [([(String, String)], String)] = [
            ([("limit", "501")], "limit '501' is not a whole number from 1 to 500"),
            ([("limit", "0")], "limit '0'"),
            ([("limit", "ten")], "limit 'ten'"),
            ([("status", "online,asleep")], "status 'asleep' is not one of online, stale, offline, disabled"),
            ([("status", "online,")], "status '' is not one of"),
            ([("sort", "name")], "sort 'name' is not one of id, temperature, hashrate, last_seen"),
            ([("order", "up")], "order 'up' is not one of asc, desc"),
            ([("cursor", "nonsense")], "cursor 'nonsense' is not a cursor this list gave"),
            (
                [("cursor", MinerListCursor(sort: .hashrate, order: .asc, value: 1, id: 1).text)],
                "cursor belongs to sort=hashrate&order=asc"
            ),
            ([("page", "2")], "unknown parameter 'page'"),
            ([("limit", "5"), ("limit", "6")], "limit is given twice"),
            ([("q", String(repeating: "x", count: 101))], "q is longer than 100 characters"),
        ]
        for (parameters, expected) in cases {
            let found = reason(parameters)
            #expect(found?.contains(expected) == true, "\(parameters): \(found ?? "accepted")")
        }
    }
}
