import BrokerTestSupport
import Foundation
import Logging
import MinerIndex
import Testing

@testable import MinerIndexState
@testable import MinerIndexStatePostgres

/// The shared store against a real PostgreSQL (`MINER_INDEX_TEST_POSTGRES_URL`, started by scripts/postgres.sh),
/// each test in a schema of its own.
@Suite(.serialized) struct PostgresStoreTests {
    let logger = Logger(label: "tests")
    let t0 = Timestamp(microsecondsSinceEpoch: 1_800_000_000_000_000)

    static var url: String {
        ProcessInfo.processInfo.environment["MINER_INDEX_TEST_POSTGRES_URL"]
            ?? "postgres://miner_index:miner_index@127.0.0.1:5432/miner_index"
    }

    private func location(_ schema: String) throws -> PostgresLocation {
        try PostgresLocation(url: Self.url + "?sslmode=disable&schema=\(schema)")
    }

    private func freshSchema() -> String {
        "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
    }

    private func segment(ids: [Int64], observedAt: Timestamp) -> StoreWrite.NewSegment {
        var records = RandomRecords(seed: UInt64(ids.first ?? 0), realistic: true)
        let logs = ids.map { ObservedLog(log: records.asicLog(id: $0), observedAt: observedAt) }
        return StoreWrite.NewSegment(
            kind: .asic, newestObservedAt: observedAt, body: Segment.encode(logs), minerIds: ids)
    }

    @Test func theURLIsParsedAndItsPasswordNeverShown() throws {
        let location = try PostgresLocation(
            url: "postgresql://farm:s3cr%40t@db.example:6543/miners?sslmode=require&schema=site_7")
        #expect(location.host == "db.example" && location.port == 6543 && location.username == "farm")
        #expect(location.password == "s3cr@t" && location.database == "miners" && location.schema == "site_7")
        #expect(location.redacted == "postgres://farm:***@db.example:6543/miners?sslmode=require&schema=site_7")
        #expect(!location.description.contains("s3cr"))
        #expect(throws: StateStoreError.self) { try PostgresLocation(url: "postgres://x@h/db?schema=a;drop") }
        #expect(
            try PostgresLocation(url: "postgres://x@h/db?schema=a").leaderLockKey
                != PostgresLocation(url: "postgres://x@h/db?schema=b").leaderLockKey)
    }

    @Test func writesReadBackAndAStandbySeesOnlyWhatIsNew() async throws {
        let store = try PostgresStateStore(location: location(freshSchema()), logger: logger)
        var write = StoreWrite()
        write.writtenAt = t0
        write.registry = [
            .init(kind: .asic, id: 7, record: AsicMiner(id: 7, name: "S19-7").encodedJSON()),
            .init(kind: .asic, id: 8, record: nil),
        ]
        write.logSegments = [segment(ids: [1, 2], observedAt: t0)]
        write.counters = ["sequence.x": 40]
        let receipt = try await store.write(write)
        var lower = StoreWrite()
        lower.counters = ["sequence.x": 3]
        _ = try await store.write(lower)

        let state = try await store.load(logsSince: t0)
        #expect(state.counters["sequence.x"] == 40)
        #expect(state.registry.count == 2 && state.registry.first { $0.id == 8 }?.record == nil)
        #expect(state.logSegments.map(\.change) == receipt.logSegmentChanges)
        #expect(state.mark >= receipt.logSegmentChanges[0])

        #expect(try await store.changes(since: state.mark).isEmpty)
        var more = StoreWrite()
        more.writtenAt = t0
        more.registry = [.init(kind: .cpuGpu, id: 3, record: CpuGpuMiner(id: 3, name: "rig").encodedJSON())]
        more.logSegments = [segment(ids: [5], observedAt: t0)]
        _ = try await store.write(more)
        let changes = try await store.changes(since: state.mark)
        #expect(changes.registry.map(\.id) == [3] && changes.logSegments.count == 1 && changes.mark > state.mark)
        let refresh = try StateRestore.refresh(changes)
        #expect(refresh.cpuGpu.count == 1 && refresh.asic.first?.logs.map(\.minerId) == [5])
        await store.close()
    }

    @Test func aDeposedLeaderCannotWrite() async throws {
        let schema = freshSchema()
        let first = try PostgresStateStore(location: location(schema), logger: logger)
        let second = try PostgresStateStore(location: location(schema), logger: logger)
        let firstEpoch = try await first.beginLeadership()
        var write = StoreWrite()
        write.counters = ["x": 1]
        _ = try await first.write(write)
        let secondEpoch = try await second.beginLeadership()
        #expect(secondEpoch == firstEpoch + 1)
        await #expect { _ = try await first.write(write) } throws: { ($0 as? StateStoreError)?.kind == .deposed }
        _ = try await second.write(write)
        await first.close()
        await second.close()
    }

    @Test func aNewerSchemaIsRefused() async throws {
        let schema = freshSchema()
        let store = try PostgresStateStore(location: location(schema), logger: logger)
        _ = try await store.load(logsSince: t0)
        try await store.client.query("INSERT INTO miner_index_schema (version) VALUES (99)")
        await store.close()
        let older = try PostgresStateStore(location: location(schema), logger: logger)
        await #expect { _ = try await older.load(logsSince: t0) } throws: { error in
            guard let error = error as? StateStoreError else { return false }
            return error.kind == .newerSchema && error.message.contains("[99]")
        }
        await older.close()
    }

    /// PostgreSQL stops answering in the middle of writes (its server process and this store's sessions are
    /// stopped with SIGSTOP, as on a frozen host): each write fails with a reason once its deadline passes, instead
    /// of waiting forever as postgres-nio's queries did after a server restart, and nothing given up commits. Once
    /// the server answers again, writes work again.
    @Test(.timeLimit(.minutes(1))) func aWriteThatGetsNoAnswerIsGivenUpAndNeverCommits() async throws {
        let schema = freshSchema()
        let application = "miner-index-test-\(schema)"
        let store = try PostgresStateStore(
            location: location(schema), applicationName: application, deadlines: .init(query: .seconds(1)),
            logger: logger)
        var first = StoreWrite()
        first.counters = ["x": 1]
        _ = try await store.write(first)

        var sessions: [Int32] = []
        for try await pid in try await store.client.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = \(application)", logger: logger
        ).decode(Int32.self) {
            sessions.append(pid)
        }
        let server = try #require(sessions.first.flatMap(parentProcess))
        let frozen = [server] + sessions
        for pid in frozen { #expect(kill(pid, SIGSTOP) == 0, "cannot stop PostgreSQL process \(pid): errno \(errno)") }
        defer { for pid in frozen { kill(pid, SIGCONT) } }

        for value in [Int64(2), 3] {
            var stuck = StoreWrite()
            stuck.counters = ["x": value]
            await #expect {
                _ = try await store.write(stuck)
            } throws: { error in
                guard let message = (error as? StateStoreError)?.message else { return false }
                // The first is given up at its deadline. The second may find the connection the first gave up on
                // already closed by postgres-nio, and then fails at once: either way it does not wait forever.
                return message.contains("no answer from PostgreSQL within 1 s")
                    || (value == 3 && message.contains("clientClosedConnection"))
            }
        }

        for pid in frozen { kill(pid, SIGCONT) }
        var after = StoreWrite()
        after.counters = ["y": 4]
        #expect(await eventually(timeout: .seconds(30)) { (try? await store.write(after)) != nil })
        let state = try await store.load(logsSince: t0)
        #expect(state.counters["x"] == 1 && state.counters["y"] == 4, "\(state.counters)")
        await store.close()
    }

    /// The parent of a process, from /proc: a PostgreSQL session's parent is the server.
    private func parentProcess(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return nil }
        let fields = stat[afterName.upperBound...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    @Test func theLeaderLockIsHeldByOneAndFreedWhenItsHolderGoesSilent() async throws {
        let location = try location(freshSchema())
        let first = PostgresLeaderLock(location: location, leaseTimeout: .seconds(2), logger: logger)
        let second = PostgresLeaderLock(location: location, leaseTimeout: .seconds(2), logger: logger)
        #expect(await first.tryAcquire())
        #expect(first.isHeld)
        #expect(await second.tryAcquire() == false)

        // While the holder pings, the lock stays with it.
        let pinging = Task { await first.keepAlive() }
        try await Task.sleep(for: .seconds(3))
        #expect(await second.tryAcquire() == false)
        #expect(first.isHeld)
        pinging.cancel()
        _ = await pinging.value
        await first.release()

        // Silent (as a stopped process is), the holder's lease runs out before the server frees the lock, which it
        // does after the lease (the session's idle timeout).
        #expect(await first.tryAcquire())
        let silentFrom = ContinuousClock.now
        #expect(await second.tryAcquire() == false)
        #expect(await eventually(timeout: .seconds(5)) { !first.isHeld })
        let lapsedAfter = ContinuousClock.now - silentFrom
        #expect(await eventually(timeout: .seconds(10)) { await second.tryAcquire() })
        let freedAfter = ContinuousClock.now - silentFrom
        #expect(lapsedAfter < freedAfter, "the holder must stop leading before anyone else can start")
        #expect(freedAfter >= .seconds(2))
        await second.release()
        // The server ended the silent holder's session, but its client may not have seen that yet: closed here,
        // not left to deinit.
        await first.release()
    }
}
