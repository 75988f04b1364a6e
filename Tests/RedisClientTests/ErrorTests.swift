import RedisClient
import Testing

@Suite("RedisServerError")
struct RedisServerErrorTests {
    @Test(arguments: [
        ("WRONGTYPE Operation against a key holding the wrong kind of value", "WRONGTYPE"),
        ("NOSCRIPT No matching script. Please use EVAL.", "NOSCRIPT"),
        ("ERR unknown command 'FOO'", "ERR"),
        ("MOVED 3999 127.0.0.1:6381", "MOVED"),
        ("ASK 3999 127.0.0.1:6381", "ASK"),
        ("BUSY Redis is busy running a script.", "BUSY"),
        ("OOM", "OOM"),
        ("", ""),
    ])
    func codeIsTheFirstWord(message: String, code: String) {
        let error = RedisServerError(message: message)
        #expect(error.code == code)
        #expect(error.message == message)
    }

    @Test func wrongType() {
        let error = RedisServerError(message: "WRONGTYPE Operation against a key holding the wrong kind of value")
        #expect(error.isWrongType)
        #expect(!error.isNoScript)
    }

    @Test func noScript() {
        let error = RedisServerError(message: "NOSCRIPT No matching script. Please use EVAL.")
        #expect(error.isNoScript)
        #expect(!error.isWrongType)
    }

    @Test(arguments: [
        "ERR WRONGTYPE mentioned later", "WRONGTYPEX something", "NOSCRIPTS x", "ERR NOSCRIPT", " WRONGTYPE x", "",
    ])
    func onlyTheCodeCounts(message: String) {
        let error = RedisServerError(message: message)
        #expect(!error.isWrongType)
        #expect(!error.isNoScript)
    }

    @Test func descriptionKeepsTheWholeMessage() {
        let error = RedisServerError(message: "ERR value is not an integer or out of range")
        #expect(error.description == "Redis error: ERR value is not an integer or out of range")
    }

    @Test func equalityIsByMessage() {
        #expect(RedisServerError(message: "ERR a") == RedisServerError(message: "ERR a"))
        #expect(RedisServerError(message: "ERR a") != RedisServerError(message: "ERR b"))
    }

    @Test func canBeThrownAndCaught() throws {
        let thrown = RedisServerError(message: "NOSCRIPT x")
        let caught = #expect(throws: RedisServerError.self) { throw thrown }
        #expect(caught == thrown)
    }
}

@Suite("RedisClientError")
struct RedisClientErrorTests {
    static let allKinds: [RedisClientError.Kind] = [
        .connectionRefused, .hostNotFound, .connectionClosed, .timeout, .protocolError, .authenticationFailed,
        .invalidDatabase, .invalidURL, .poolClosed, .ioError, .invalidArgument, .unexpectedReply,
    ]

    @Test func kindsAreDistinct() {
        #expect(Set(Self.allKinds).count == Self.allKinds.count)
        #expect(Set(Self.allKinds.map(\.description)).count == Self.allKinds.count)
        for (index, kind) in Self.allKinds.enumerated() {
            for other in Self.allKinds[(index + 1)...] {
                #expect(kind != other)
            }
        }
    }

    @Test func kindDescriptionNamesTheKind() {
        #expect(RedisClientError.Kind.timeout.description == "timeout")
        #expect(RedisClientError.Kind.invalidURL.description == "invalidURL")
        #expect(RedisClientError.Kind.connectionRefused.description == "connectionRefused")
    }

    @Test func kindAndMessageAreKept() {
        let error = RedisClientError(.timeout, "no reply from 127.0.0.1:6379 within 5s")
        #expect(error.kind == .timeout)
        #expect(error.kind != .connectionClosed)
        #expect(error.message == "no reply from 127.0.0.1:6379 within 5s")
    }

    @Test func descriptionHoldsKindAndMessage() {
        let error = RedisClientError(.poolClosed, "the pool is closed")
        #expect(error.description == "Redis client error (poolClosed): the pool is closed")
    }

    @Test func equality() {
        #expect(RedisClientError(.timeout, "a") == RedisClientError(.timeout, "a"))
        #expect(RedisClientError(.timeout, "a") != RedisClientError(.timeout, "b"))
        #expect(RedisClientError(.timeout, "a") != RedisClientError(.ioError, "a"))
    }

    @Test(arguments: RedisClientErrorTests.allKinds)
    func outcomeUnknownOnlyWhenTheCommandMayHaveRun(kind: RedisClientError.Kind) {
        let expected = kind == .connectionClosed || kind == .timeout || kind == .ioError
        #expect(RedisClientError(kind, "x").outcomeUnknown == expected)
    }

    @Test func outcomeUnknownForTheThreeAmbiguousKinds() {
        #expect(RedisClientError(.connectionClosed, "x").outcomeUnknown)
        #expect(RedisClientError(.timeout, "x").outcomeUnknown)
        #expect(RedisClientError(.ioError, "x").outcomeUnknown)
        #expect(!RedisClientError(.connectionRefused, "x").outcomeUnknown)
        #expect(!RedisClientError(.invalidURL, "x").outcomeUnknown)
        #expect(!RedisClientError(.poolClosed, "x").outcomeUnknown)
    }

    @Test func caughtAsAnyErrorAndCastBack() {
        func fail() throws { throw RedisClientError(.hostNotFound, "no such host: nowhere.invalid") }
        do {
            try fail()
            Issue.record("fail() did not throw")
        } catch let error as RedisClientError {
            #expect(error.kind == .hostNotFound)
            #expect(error.message.contains("nowhere.invalid"))
        } catch {
            Issue.record("unexpected error type \(type(of: error))")
        }
    }

    @Test func invalidURLFromTheParserHasTheKind() {
        let error = #expect(throws: RedisClientError.self) {
            _ = try RedisConfiguration(url: "nope")
        }
        #expect(error?.kind == .invalidURL)
    }
}
