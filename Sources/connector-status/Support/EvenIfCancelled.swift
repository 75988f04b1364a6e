/// Runs `cleanup` to its end even when the calling task was cancelled (Ctrl-C, SIGTERM, SIGHUP).
///
/// The Redis client fails every call of a cancelled task at once with `CancellationError` (it
/// never leaves a cancelled caller waiting), so cleanup that must still reach Redis after a
/// cancellation — removing a load test's namespace, releasing a namespace hold — runs in a task
/// of its own, which does not inherit the cancellation. The signal handler's grace period still
/// bounds how long it may take.
func evenIfCancelled<T: Sendable>(_ cleanup: @escaping @Sendable () async -> T) async -> T {
    await Task { await cleanup() }.value
}
