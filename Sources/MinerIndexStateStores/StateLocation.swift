import MinerIndexState
import MinerIndexStatePostgres

/// Where the index's state survives a restart (`--state`).
public enum StateLocation: Sendable, Equatable {
    /// In memory only: a restart starts empty.
    case none
    /// An SQLite file (WAL mode), locked by one instance.
    case sqlite(path: String)
    /// A PostgreSQL database several instances share: one leads, the others stand by.
    case postgres(url: String)

    /// "none", a `postgres://` (or `postgresql://`) URL, or else the path of an SQLite file.
    public init(parsing text: String) throws(StateStoreError) {
        if PostgresLocation.isPostgresURL(text) {
            _ = try PostgresLocation(url: text)
            self = .postgres(url: text)
        } else {
            self = text.lowercased() == "none" ? .none : .sqlite(path: text)
        }
    }

    /// Whether several instances share it, one leading and the others standing by.
    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// For logs: a URL without its password.
    public var summary: String {
        switch self {
        case .none: "none"
        case .sqlite(let path): path
        case .postgres(let url): (try? PostgresLocation(url: url).redacted) ?? "postgres://(invalid)"
        }
    }
}
