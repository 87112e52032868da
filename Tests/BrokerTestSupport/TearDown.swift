/// Runs `body`, then `tearDown`, and waits for the tear-down whether `body` returned or threw: a `defer` cannot
/// await, and a tear-down started in a detached task could still be running when the next test began.
public func withTearDown<Result>(
    _ tearDown: () async -> Void, body: () async throws -> Result
) async rethrows -> Result {
    let result: Result
    do {
        result = try await body()
    } catch {
        await tearDown()
        throw error
    }
    await tearDown()
    return result
}
