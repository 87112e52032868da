import Foundation
import Logging
import MinerIndex
import MinerIndexState
import MinerIndexStateStores
import Synchronization
import Testing

/// `--state` becomes a store the service knows only by its protocols, with the lock that fits it.
@Suite struct StateStoreFactoryTests {
    let logger = Logger(label: "tests")

    @Test func theStateTextNamesItsBackend() throws {
        #expect(try StateLocation(parsing: "none") == StateLocation.none)
        #expect(try StateLocation(parsing: "NONE") == StateLocation.none)
        #expect(try StateLocation(parsing: "data/state.sqlite") == .sqlite(path: "data/state.sqlite"))
        let url = "postgresql://miner:secret@db.internal:5433/farm?schema=north"
        let shared = try StateLocation(parsing: url)
        #expect(shared == .postgres(url: url) && shared.isShared)
        #expect(!shared.summary.contains("secret"), "the summary goes to logs")
        #expect(!(try StateLocation(parsing: "x.sqlite")).isShared)
        #expect(throws: StateStoreError.self) { try StateLocation(parsing: "postgres://") }
        #expect(throws: StateStoreError.self) { try StateLocation(parsing: "postgres://h/db?schema=no-dashes") }
    }

    @Test func noneOpensNothing() async throws {
        let opened = try await StateStoreFactory.open(
            .none, offlineAfter: .seconds(60), leaderLease: .seconds(10), logger: logger, onFileSetAside: {})
        #expect(opened == nil)
    }

    @Test func aFileIsItsOwnLeaderAndADamagedOneIsSetAside() async throws {
        let folder = try TemporaryDirectory()
        let path = folder.file("state.sqlite")
        try Data("not an SQLite file, ".utf8 + Data(repeating: 0x5A, count: 8192)).write(to: URL(fileURLWithPath: path))
        let setAside = Mutex(0)
        let opened = try #require(
            try await StateStoreFactory.open(
                .sqlite(path: path), offlineAfter: .seconds(60), leaderLease: .seconds(10), logger: logger,
                onFileSetAside: { setAside.withLock { $0 += 1 } }))
        #expect(setAside.withLock { $0 } == 1)
        #expect(opened.stored.registry.isEmpty && opened.shared == nil && opened.lock is AlwaysLeader)
        #expect(folder.contents.contains { $0.hasPrefix("state.sqlite.corrupt") }, "\(folder.contents)")
        await opened.store.close()
    }

    @Test func alwaysLeaderHoldsUntilCancelledAndNeverLosesTheLock() async {
        let lock = AlwaysLeader()
        #expect(lock.isHeld)
        #expect(await lock.tryAcquire())
        let holding = Task { await lock.keepAlive() }
        holding.cancel()
        #expect(await holding.value == nil, "cancelled, not lost")
        await lock.release()
        #expect(lock.isHeld)
    }
}
