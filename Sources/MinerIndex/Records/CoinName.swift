/// Coin names as dashboards group them: trimmed, compared case-insensitively, shown lower-case with the first
/// letter capitalised ("  BITCOIN " is "Bitcoin"). The display form is also the grouping key, because two names
/// that differ only in case always map to the same display form.
public enum CoinName {
    public static func normalized(_ raw: String) -> String {
        let trimmed = raw.trimmingWhitespace()
        if trimmed.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes = Array(trimmed.utf8)
            for index in bytes.indices {
                let byte = bytes[index]
                if index == 0, byte >= UInt8(ascii: "a"), byte <= UInt8(ascii: "z") {
                    bytes[index] = byte - 32
                } else if index > 0, byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") {
                    bytes[index] = byte + 32
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let lowered = trimmed.lowercased()
        guard let first = lowered.first else { return lowered }
        return first.uppercased() + lowered.dropFirst()
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
