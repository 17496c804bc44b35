import CNetlink

#if canImport(Glibc)
    import Glibc
#endif

/// A libnl socket connected to the IPVS generic-netlink family, and the request/reply loop over it.
struct Connection: ~Copyable {
    private let socket: OpaquePointer
    private let family: Int32

    init(namespace: String?) throws(IPVSError) {
        guard let socket = nl_socket_alloc() else {
            throw IPVSError(.netlink("cannot allocate a netlink socket"), operation: "connect to IPVS")
        }
        do throws(IPVSError) {
            try Self.inNamespace(namespace) { () throws(IPVSError) in
                let connected = genl_connect(socket)
                guard connected >= 0 else {
                    throw IPVSError(.netlink(String(cString: nl_geterror(connected))), operation: "connect to IPVS")
                }
            }
            let family = genl_ctrl_resolve(socket, IPVS_GENL_NAME)
            guard family >= 0 else {
                if -family == NLE_OBJ_NOTFOUND { throw IPVSError(.noIPVS, operation: "connect to IPVS") }
                throw IPVSError(.netlink(String(cString: nl_geterror(family))), operation: "connect to IPVS")
            }
            self.socket = socket
            self.family = family
        } catch {
            nl_socket_free(socket)
            throw error
        }
    }

    deinit { nl_socket_free(socket) }

    /// Runs `body` with this thread in the named network namespace, then returns it to its own. A netlink socket
    /// stays bound to the namespace it was connected in.
    static func inNamespace(_ name: String?, _ body: () throws(IPVSError) -> Void) throws(IPVSError) {
        guard let name else { return try body() }
        let operation = "enter network namespace \(name)"
        let own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard own >= 0 else { throw IPVSError(.kernel(String(cString: strerror(errno))), operation: operation) }
        defer { close(own) }
        let target = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            throw IPVSError(.kernel("no such namespace (\(String(cString: strerror(errno))))"), operation: operation)
        }
        defer { close(target) }
        guard cnl_enter_network_namespace(target) == 0 else {
            throw IPVSError(.kernel(String(cString: strerror(errno))), operation: operation, errno: errno)
        }
        defer { _ = cnl_enter_network_namespace(own) }
        try body()
    }

    /// Sends one request and reads replies until the kernel's acknowledgement, the end of a dump, or an error.
    mutating func transact(
        _ operation: IPVSOperation,
        build: (OpaquePointer) throws(IPVSError) -> Void,
        reply: ([IPVSAttributes.Attribute?]) throws(IPVSError) -> Void
    ) throws(IPVSError) {
        guard let message = nlmsg_alloc() else {
            throw IPVSError(.netlink("cannot allocate a message"), operation: operation.text)
        }
        defer { nlmsg_free(message) }
        let flags = operation.isDump ? NLM_F_DUMP : 0
        guard
            genlmsg_put(
                message,
                UInt32(NL_AUTO_PORT),
                UInt32(NL_AUTO_SEQ),
                family,
                0,
                flags,
                UInt8(operation.command),
                UInt8(IPVS_GENL_VERSION)
            )
                != nil
        else { throw IPVSError(.netlink("cannot build the header"), operation: operation.text) }
        try build(message)

        let state = ReplyState()
        try withoutActuallyEscaping(reply) { (escapable) throws(IPVSError) in
            state.handle = escapable
            defer { state.handle = nil }
            guard let callbacks = nl_cb_alloc(NL_CB_DEFAULT) else {
                throw IPVSError(.netlink("cannot allocate callbacks"), operation: operation.text)
            }
            defer { nl_cb_put(callbacks) }
            let context = Unmanaged.passUnretained(state).toOpaque()
            nl_cb_set(callbacks, NL_CB_VALID, NL_CB_CUSTOM, onValid, context)
            nl_cb_set(callbacks, NL_CB_ACK, NL_CB_CUSTOM, onDone, context)
            nl_cb_set(callbacks, NL_CB_FINISH, NL_CB_CUSTOM, onDone, context)
            nl_cb_err(callbacks, NL_CB_CUSTOM, onError, context)

            let sent = nl_send_auto(socket, message)
            guard sent >= 0 else {
                throw IPVSError(.netlink(String(cString: nl_geterror(sent))), operation: operation.text)
            }
            while !state.done {
                let received = nl_recvmsgs(socket, callbacks)
                if state.kernelErrno != nil || state.failure != nil { break }
                if received < 0 {
                    throw IPVSError(.netlink(String(cString: nl_geterror(received))), operation: operation.text)
                }
            }
            withExtendedLifetime(state) {}
        }
        if let code = state.kernelErrno { throw operation.error(errno: code) }
        if var failure = state.failure {
            failure.operation = operation.text
            throw failure
        }
    }
}

/// What the callbacks of one request collect.
private final class ReplyState {
    var handle: (([IPVSAttributes.Attribute?]) throws(IPVSError) -> Void)?
    var done = false
    var kernelErrno: Int32?
    var failure: IPVSError?
}

private func state(_ context: UnsafeMutableRawPointer?) -> ReplyState {
    Unmanaged<ReplyState>.fromOpaque(context!).takeUnretainedValue()
}

private let stop = Int32(NL_STOP.rawValue)
private let proceed = Int32(NL_OK.rawValue)

/// A data message: parse its top-level attributes and hand them to the request's reply handler.
private func onValid(_ message: OpaquePointer?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    let s = state(context)
    guard let message, let header = nlmsg_hdr(message) else { return proceed }
    var table = [IPVSAttributes.Attribute?](repeating: nil, count: IPVSAttributes.commandMax + 1)
    let parsed = table.withUnsafeMutableBufferPointer {
        genlmsg_parse(header, 0, $0.baseAddress, Int32(IPVSAttributes.commandMax), nil)
    }
    do throws(IPVSError) {
        guard parsed >= 0 else { throw IPVSAttributes.malformed("attributes") }
        try s.handle?(table)
    } catch {
        s.failure = error
        return stop
    }
    return proceed
}

/// The acknowledgement of a request, or the end of a dump.
private func onDone(_ message: OpaquePointer?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    state(context).done = true
    return stop
}

/// An error from the kernel: keep its errno exactly (libnl's own codes fold ESRCH and ENOENT together).
private func onError(
    _ address: UnsafeMutablePointer<sockaddr_nl>?,
    _ error: UnsafeMutablePointer<nlmsgerr>?,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    let s = state(context)
    s.kernelErrno = -(error?.pointee.error ?? -EIO)
    s.done = true
    return stop
}
