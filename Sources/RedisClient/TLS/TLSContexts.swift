import CHiredis  // the module Swift saw `timespec` (of `stat`) through first
import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// OpenSSL client contexts (`SSL_CTX`), one per set of TLS options, shared by every connection
/// of the process.
///
/// Making a context is the expensive part of a TLS connect: with the system trust store OpenSSL 3
/// parses every CA certificate of the bundle, about 90 ms of CPU here; with a one-certificate
/// `cacert` about 1.3 ms (measured with a small C loop over `SSL_CTX_new` + load). A context is
/// made once and reused by every (re)connect; it is made again when one of its files (CA file,
/// client certificate, key) has changed on disk (size, modification time or inode), so a renewed
/// certificate is used from the next connect on. Sessions hold their own reference, so replacing
/// a context never affects open connections. A context that cannot be made is not cached.
enum TLSContexts {
    private final class Entry {
        let context: OpaquePointer
        let files: [FileStamp]

        init(context: OpaquePointer, files: [FileStamp]) {
            self.context = context
            self.files = files
        }

        deinit { SSL_CTX_free(context) }
    }

    /// What identifies one version of a file.
    private struct FileStamp: Hashable {
        var path: String
        var size: Int64
        var seconds: Int
        var nanoseconds: Int
        var inode: UInt64
    }

    private static let cache = GuardedState<[RedisTLSOptions: Entry]>([:])

    /// A context for `options`, made now or earlier. The caller owns one reference and must
    /// release it with `SSL_CTX_free` (after `SSL_new`, which takes its own).
    ///
    /// - Throws: ``RedisClientError`` of kind `tlsConfigurationInvalid` (a file cannot be used)
    ///   or `ioError` (OpenSSL out of memory).
    static func context(for options: RedisTLSOptions) throws(RedisClientError) -> OpaquePointer {
        let files = stamps(of: options)
        return try cache.withLock { (entries) throws(RedisClientError) -> OpaquePointer in
            if let entry = entries[options], entry.files == files {
                SSL_CTX_up_ref(entry.context)
                return entry.context
            }
            ERR_clear_error()
            guard let made = copenssl_client_context() else {
                throw RedisClientError(.ioError, "OpenSSL could not create a TLS context")
            }
            do throws(RedisClientError) {
                try TLSSession.configure(made, options: options)
            } catch {
                SSL_CTX_free(made)
                throw error
            }
            entries[options] = Entry(context: made, files: files)
            SSL_CTX_up_ref(made)
            return made
        }
    }

    /// The current version of every file `options` names (a missing file has an empty stamp).
    private static func stamps(of options: RedisTLSOptions) -> [FileStamp] {
        [options.caCertificatePath, options.certificatePath, options.privateKeyPath].compactMap { path in
            guard let path else { return nil }
            var info = stat()
            guard stat(path, &info) == 0 else {
                return FileStamp(path: path, size: -1, seconds: 0, nanoseconds: 0, inode: 0)
            }
            return FileStamp(
                path: path, size: Int64(info.st_size), seconds: Int(info.st_mtim.tv_sec),
                nanoseconds: Int(info.st_mtim.tv_nsec), inode: UInt64(info.st_ino))
        }
    }
}
