#if canImport(Glibc)
    import Glibc
#endif

/// Every error of the IPVS module: what the kernel (or libnl) answered, as a sentence a person can act on, with
/// the real `errno` kept (read from the kernel's `nlmsgerr`, not libnl's folded codes).
public struct IPVSError: Error, Hashable, Sendable {
    /// What went wrong.
    public var kind: Kind
    /// What was being done, e.g. `add real server 10.0.0.21:80 to tcp 10.0.0.100:80`.
    public var operation: String
    /// The kernel's errno, when the kernel answered with one.
    public var errno: Int32?

    /// Creates an error.
    public init(_ kind: Kind, operation: String, errno: Int32? = nil) {
        self.kind = kind
        self.operation = operation
        self.errno = errno
    }

    /// The distinct failures.
    public enum Kind: Hashable, Sendable {
        /// The kernel has no IPVS generic-netlink family (no `ip_vs` module).
        case noIPVS
        /// The caller lacks `CAP_NET_ADMIN`.
        case permissionDenied
        /// The virtual service already exists.
        case serviceExists(String)
        /// There is no such virtual service.
        case noSuchService(String)
        /// The real server already exists in that service.
        case realServerExists(String)
        /// There is no such real server in that service.
        case noSuchRealServer(String)
        /// The scheduler or persistence engine named is not available in this kernel.
        case unknownSchedulerOrEngine(String)
        /// A sync daemon of that role is already running.
        case daemonRunning(String)
        /// No sync daemon of that role is running.
        case noDaemonRunning(String)
        /// The interface does not exist.
        case noSuchInterface(String)
        /// A value the kernel refuses (weight below 0, lower threshold above upper, …).
        case outOfRange(String)
        /// The kernel refused the request as invalid.
        case invalid(String)
        /// Any other errno from the kernel.
        case kernel(String)
        /// libnl itself failed (socket, memory, message building), with its own message.
        case netlink(String)
    }
}

extension IPVSError: CustomStringConvertible {
    public var description: String {
        let what: String
        switch kind {
        case .noIPVS:
            what = "the kernel has no IPVS (modprobe ip_vs, or a kernel built with CONFIG_IP_VS)"
        case .permissionDenied:
            what = "needs CAP_NET_ADMIN (run as root or grant the capability)"
        case .serviceExists(let s): what = "virtual service \(s) already exists"
        case .noSuchService(let s): what = "no such virtual service \(s)"
        case .realServerExists(let s): what = "real server \(s) already exists"
        case .noSuchRealServer(let s): what = "no such real server \(s)"
        case .unknownSchedulerOrEngine(let s): what = "\(s) is not available in this kernel"
        case .daemonRunning(let s): what = "a \(s) sync daemon is already running"
        case .noDaemonRunning(let s): what = "no \(s) sync daemon is running"
        case .noSuchInterface(let s): what = "no such interface '\(s)'"
        case .outOfRange(let s): what = "out of range: \(s)"
        case .invalid(let s): what = "the kernel refused it as invalid: \(s)"
        case .kernel(let s): what = s
        case .netlink(let s): what = "netlink: \(s)"
        }
        var text = "\(operation): \(what)"
        if let errno { text += " (\(Self.errnoName(errno)))" }
        return text
    }

    /// `ESRCH`, `ENOENT`, … for the errno values the IPVS kernel code returns; the number otherwise.
    static func errnoName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", EACCES: "EACCES", EROFS: "EROFS", EIO: "EIO", ENOENT: "ENOENT", ESRCH: "ESRCH",
            EEXIST: "EEXIST", EINVAL: "EINVAL", ENODEV: "ENODEV",
            ERANGE: "ERANGE", EAFNOSUPPORT: "EAFNOSUPPORT", ENOPROTOOPT: "ENOPROTOOPT", EOPNOTSUPP: "EOPNOTSUPP",
            ENOMEM: "ENOMEM", EFAULT: "EFAULT", EBUSY: "EBUSY",
        ]
        return names[code] ?? "errno \(code)"
    }
}
