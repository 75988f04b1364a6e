import ConnectorStatus
import Testing

/// A domain call made by a cancelled task fails with ``ConnectorStatusError/cancelled`` (not an
/// "unexpected reply"), and sends nothing.
@Suite("Cancellation through the domain layer")
struct DomainCancellationTests {
    @Test func aCancelledTaskGetsCancelledAndWritesNothing() async throws {
        let fixture = try StatusFixture()
        let bot = try connector("bot")
        let target = try line(31)
        let store = fixture.store
        let task = Task { () async -> ConnectorStatusError? in
            while !Task.isCancelled { await Task.yield() }
            do {
                try await store.update(bot, line: target, .bringUp)
                return nil
            } catch let error as ConnectorStatusError {
                return error
            } catch {
                return .unexpectedReply("not a ConnectorStatusError: \(error)")
            }
        }
        task.cancel()
        let error = await task.value
        #expect(error == .cancelled, "\(String(describing: error))")
        #expect(try await fixture.store.status(bot, line: target) == nil)
        await fixture.close()
    }
}
