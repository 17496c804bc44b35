#if canImport(Glibc)
    import Glibc
#endif

/// Every error of the HostNetwork module: a system call that failed, with the call, its subject and `errno`.
public struct HostNetworkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done, e.g. `setsockopt(IP_MULTICAST_IF) on lvsync0`.
    public var operation: String
    /// The `errno` value, or nil for a failure that has none (an unknown interface name).
    public var errno: Int32?
    /// Extra words for failures without errno.
    public var detail: String?

    /// Creates an error for `operation`, with the `errno` it failed with if there is one.
    public init(operation: String, errno: Int32? = nil, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// Whether the call failed for the caller's own lack of resources (descriptors, memory, buffers) rather than
    /// for what it asked about: such a failure says nothing about the interface or address in question.
    public var ownTrouble: Bool {
        errno.map(Self.isResourceShortage) ?? false
    }

    /// Whether `errno` says the caller ran out of something of its own: descriptors (`EMFILE`, `ENFILE`), memory or
    /// buffer space (`ENOMEM`, `ENOBUFS`). The one list the daemon's "own trouble" rules start from (failover
    /// conditions add the transient `EAGAIN` and `EINTR`; health probes keep their own, which adds a source address
    /// or route the director lacks).
    public static func isResourceShortage(_ errno: Int32) -> Bool {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(errno)
    }

    public var description: String {
        var text = operation
        if let errno { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        if let detail { text += ": \(detail)" }
        return text
    }
}
