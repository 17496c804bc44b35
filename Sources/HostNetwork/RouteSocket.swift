import CNetlinkRoute

#if canImport(Glibc)
    import Glibc
#endif

/// A libnl route socket (`NETLINK_ROUTE`) connected in this network namespace or a named one, which keeps the
/// kernel's own `errno` of the last refused request (libnl's error codes fold several together).
final class RouteSocket {
    let handle: OpaquePointer
    /// The `errno` the kernel answered the last failed request with; reset by ``run(_:_:)``.
    fileprivate(set) var kernelErrno: Int32?

    /// Connects; `namespace` is an `ip netns` name (`/var/run/netns/NAME`), nil for this thread's own.
    init(namespace: String?) throws(HostNetworkError) {
        let what = "connect rtnetlink" + (namespace.map { " in network namespace \($0)" } ?? "")
        guard let socket = nl_socket_alloc() else {
            throw HostNetworkError(operation: what, detail: "cannot allocate a netlink socket")
        }
        do {
            try Self.inNamespace(namespace) { () throws(HostNetworkError) in
                let connected = nl_connect(socket, NETLINK_ROUTE)
                guard connected >= 0 else {
                    throw HostNetworkError(operation: what, detail: String(cString: nl_geterror(connected)))
                }
            }
        } catch {
            nl_socket_free(socket)  // not yet `handle`: deinit does not run for a partly initialised object
            throw error
        }
        handle = socket
        let context = Unmanaged.passUnretained(self).toOpaque()
        nl_socket_modify_err_cb(socket, NL_CB_CUSTOM, recordKernelErrno, context)
    }

    deinit { nl_socket_free(handle) }

    /// Runs one libnl request; on a negative result, throws an error naming `operation` with the kernel's errno
    /// (or libnl's own message when the kernel did not refuse it).
    @discardableResult
    func run(_ operation: @autoclosure () -> String, _ request: () -> Int32) throws(HostNetworkError) -> Int32 {
        kernelErrno = nil
        let result = request()
        guard result < 0 else { return result }
        if let code = kernelErrno { throw HostNetworkError(operation: operation(), errno: code) }
        throw HostNetworkError(operation: operation(), detail: String(cString: nl_geterror(result)))
    }

    /// Runs `body` with this thread in the named network namespace, then returns it to its own. A netlink socket
    /// stays bound to the namespace it was connected in.
    static func inNamespace(_ name: String?, _ body: () throws(HostNetworkError) -> Void) throws(HostNetworkError) {
        guard let name else { return try body() }
        let operation = "enter network namespace \(name)"
        let own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard own >= 0 else { throw HostNetworkError(operation: operation, errno: errno) }
        defer { close(own) }
        let target = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            throw HostNetworkError(operation: "\(operation): open /var/run/netns/\(name)", errno: errno)
        }
        defer { close(target) }
        guard cnlr_enter_network_namespace(target) == 0 else {
            throw HostNetworkError(operation: operation, errno: errno)
        }
        defer { _ = cnlr_enter_network_namespace(own) }
        try body()
    }
}

/// The socket's error callback: keep the kernel's errno, then let libnl end the request as it would.
private func recordKernelErrno(
    _ address: UnsafeMutablePointer<sockaddr_nl>?,
    _ error: UnsafeMutablePointer<nlmsgerr>?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    if let context, let error {
        Unmanaged<RouteSocket>.fromOpaque(context).takeUnretainedValue().kernelErrno = -error.pointee.error
    }
    return Int32(NL_STOP.rawValue)
}
