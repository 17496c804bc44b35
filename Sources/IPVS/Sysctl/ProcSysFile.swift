#if canImport(Glibc)
    import Glibc
#endif

/// Reads and writes a `/proc/sys` file of the calling thread's network namespace, with errors an operator can act
/// on.
enum ProcSysFile {
    /// The file's text.
    static func read(_ path: String, operation: String) throws(IPVSError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errno, path: path, operation: operation) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno, path: path, operation: operation)
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` in one write, as the kernel's sysctl handlers expect.
    static func write(_ text: String, to path: String, operation: String) throws(IPVSError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errno, path: path, operation: operation) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        while true {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count == bytes.count else {
                throw failure(count < 0 ? errno : EIO, path: path, operation: operation)
            }
            return
        }
    }

    /// An `errno` from `open`, `read` or `write` as the sentence for it.
    static func failure(_ code: Int32, path: String, operation: String) -> IPVSError {
        switch code {
        case ENOENT:
            return IPVSError(.noIPVS, operation: operation, errno: code)
        case EACCES, EPERM:
            return IPVSError(.permissionDenied, operation: operation, errno: code)
        case EROFS:
            return IPVSError(
                .kernel(
                    "\(path) is read-only here (under systemd, ProtectKernelTunables= needs "
                        + "ReadWritePaths=/proc/sys/net/ipv4/vs)"
                ),
                operation: operation,
                errno: code
            )
        case EINVAL:
            return IPVSError(.invalid(path), operation: operation, errno: code)
        default:
            return IPVSError(.kernel("\(path): \(String(cString: strerror(code)))"), operation: operation, errno: code)
        }
    }
}
