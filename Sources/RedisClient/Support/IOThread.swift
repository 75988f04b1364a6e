import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a dedicated OS thread for blocking I/O, outside Swift's cooperative pool.
enum IOThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts a detached thread named `name` (shown by `top -H`, truncated to 15 bytes) that
    /// runs `body` once.
    ///
    /// `body` is *sent* to the thread: it may capture state that is not `Sendable` (a
    /// connection's ``ConnectionIOThread``), and the compiler then checks that the caller keeps
    /// no other reference to it, so that state is the new thread's alone.
    static func start(name: String, _ body: sending @escaping () -> Void) {
        let box = Unmanaged.passRetained(
            Box {
                chiredis_name_current_thread(name)
                chiredis_block_sigpipe()
                body()
            }
        ).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed (\(result)): the process is out of threads")
        pthread_detach(thread)
    }
}
