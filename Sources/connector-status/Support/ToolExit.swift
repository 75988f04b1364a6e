import ArgumentParser
import ConnectorStatus
import EmbeddedRedis
import Foundation
import RedisClient

/// The tool's exit codes, one meaning each, so scripts can branch on them.
enum ToolExit {
    /// Done.
    static let ok: Int32 = 0
    /// The answer is "no": not ready, not found, refused compare-and-set, registry conflict.
    static let no: Int32 = 1
    /// Bad usage or invalid input; the message names the field.
    static let badInput: Int32 = 2
    /// Redis unreachable or authentication failed (no password in any output).
    static let redisUnavailable: Int32 = 3
    /// Redis refused the command with a server error (`NOPERM`, `OOM`, `READONLY`, `WRONGTYPE`,
    /// an unknown command…) or answered something the tool did not expect: the answer is not
    /// "no", it is unknown.
    static let serverError: Int32 = 4
    /// The command was cancelled (its task); a signal exits 128 + its number instead.
    static let interrupted: Int32 = 130

    /// The code a parent exits with when an instance process it ran exited with `status`: an
    /// unreachable Redis (3) or a server error (4) stays what it is — it is no "the instances
    /// disagreed" — and anything else (1, a signal, a crash) is 1.
    static func forFailedChild(_ status: Int32?) -> Int32 {
        guard let status, status == redisUnavailable || status == serverError else { return no }
        return status
    }

    /// The exit code and the one-line message for an error thrown by a command.
    static func classify(_ error: any Error) -> (code: Int32, message: String) {
        switch error {
        case let failure as ToolFailure:
            return (failure.code, failure.message)
        case let error as ConnectorStatusError:
            switch error {
            case .invalidConnectorID, .invalidLineID, .dataTooLarge, .invalidData, .invalidName, .valueTooLarge,
                .encodingFailed, .invalidDescriptor, .invalidOption:
                return (badInput, error.description)
            case .versionConflict, .registryConflict:
                return (no, error.description)
            case .cancelled:
                return (interrupted, "interrupted")
            case .wrongType, .unexpectedReply, .server, .cleanIncomplete:
                return (serverError, error.description)
            case .notReplicated:
                // Applied on the master, but not confirmed by enough replicas in time.
                return (no, error.description)
            case .redis(let clientError):
                return classify(clientError)
            }
        case let error as RedisClientError:
            if error.kind == .invalidURL || error.kind == .invalidArgument { return (badInput, error.message) }
            if error.kind == .unexpectedReply || error.kind == .protocolError { return (serverError, error.message) }
            return (redisUnavailable, error.message)
        case let error as RedisServerError:
            return (serverError, error.description)
        case is CancellationError:
            return (interrupted, "interrupted")
        case let error as EmbeddedRedisError:
            return (redisUnavailable, "cannot start the embedded redis-server: \(error.message)")
        default:
            return (serverError, String(describing: error))
        }
    }
}

/// A command's own "no" or bad-input outcome, with its exit code.
struct ToolFailure: Error {
    let code: Int32
    let message: String

    static func notFound(_ message: String) -> ToolFailure { ToolFailure(code: ToolExit.no, message: message) }
    static func badInput(_ message: String) -> ToolFailure { ToolFailure(code: ToolExit.badInput, message: message) }
}

/// Writes one line to standard error, control characters escaped (messages repeat user input:
/// a newline or an escape sequence in it must not forge a line or drive the terminal).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.escapingControlCharacters + "\n").utf8))
}
