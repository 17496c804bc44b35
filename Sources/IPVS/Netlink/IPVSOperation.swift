import CNetlink
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// One request to the kernel's IPVS, named for error messages, with the kernel's errno values mapped to what they
/// mean for that request (research/kernel-ipvs.md §1.9): the real client and its in-memory twin fail alike.
public enum IPVSOperation: Sendable {
    case info
    case getTimeouts
    case setTimeouts
    case listServices
    case getService(ServiceKey)
    case addService(VirtualService)
    case editService(VirtualService)
    case deleteService(ServiceKey)
    case listRealServers(ServiceKey)
    case addRealServer(Endpoint, ServiceKey)
    case editRealServer(Endpoint, ServiceKey)
    case deleteRealServer(Endpoint, ServiceKey)
    case listDaemons
    case startDaemon(SyncDaemon)
    case stopDaemon(SyncDaemon.Role)
    case zero(ServiceKey?)
    case flush

    /// The generic-netlink command that carries it.
    var command: Int32 {
        let command: Int
        switch self {
        case .info: command = IPVS_CMD_GET_INFO
        case .getTimeouts: command = IPVS_CMD_GET_CONFIG
        case .setTimeouts: command = IPVS_CMD_SET_CONFIG
        case .listServices, .getService: command = IPVS_CMD_GET_SERVICE
        case .addService: command = IPVS_CMD_NEW_SERVICE
        case .editService: command = IPVS_CMD_SET_SERVICE
        case .deleteService: command = IPVS_CMD_DEL_SERVICE
        case .listRealServers: command = IPVS_CMD_GET_DEST
        case .addRealServer: command = IPVS_CMD_NEW_DEST
        case .editRealServer: command = IPVS_CMD_SET_DEST
        case .deleteRealServer: command = IPVS_CMD_DEL_DEST
        case .listDaemons: command = IPVS_CMD_GET_DAEMON
        case .startDaemon: command = IPVS_CMD_NEW_DAEMON
        case .stopDaemon: command = IPVS_CMD_DEL_DAEMON
        case .zero: command = IPVS_CMD_ZERO
        case .flush: command = IPVS_CMD_FLUSH
        }
        return Int32(command)
    }

    /// Whether the kernel answers with a dump (one message per object, then DONE) rather than one reply.
    var isDump: Bool {
        switch self {
        case .listServices, .listRealServers, .listDaemons: true
        default: false
        }
    }

    /// How the operation reads in an error message.
    public var text: String {
        switch self {
        case .info: "read IPVS info"
        case .getTimeouts: "read IPVS timeouts"
        case .setTimeouts: "set IPVS timeouts"
        case .listServices: "list virtual services"
        case .getService(let k): "read virtual service \(k)"
        case .addService(let s): "add virtual service \(s.key)"
        case .editService(let s): "edit virtual service \(s.key)"
        case .deleteService(let k): "delete virtual service \(k)"
        case .listRealServers(let k): "list real servers of \(k)"
        case .addRealServer(let e, let k): "add real server \(e) to \(k)"
        case .editRealServer(let e, let k): "edit real server \(e) of \(k)"
        case .deleteRealServer(let e, let k): "delete real server \(e) from \(k)"
        case .listDaemons: "list sync daemons"
        case .startDaemon(let d): "start the \(d.role) sync daemon on \(d.interface) (syncid \(d.syncID))"
        case .stopDaemon(let r): "stop the \(r) sync daemon"
        case .zero(let k): k.map { "zero the counters of \($0)" } ?? "zero all counters"
        case .flush: "flush all virtual services"
        }
    }

    /// The error the kernel's `errno` means for this operation.
    public func error(errno code: Int32) -> IPVSError {
        let kind: IPVSError.Kind
        switch (code, self) {
        case (EPERM, _): kind = .permissionDenied
        case (ESRCH, .stopDaemon(let role)): kind = .noDaemonRunning(role.description)
        case (ESRCH, _): kind = .noSuchService(serviceText)
        case (ENOENT, .addService(let s)), (ENOENT, .editService(let s)):
            kind = .unknownSchedulerOrEngine(
                "scheduler '\(s.scheduler)'" + (s.persistenceEngine.map { " or persistence engine '\($0)'" } ?? "")
            )
        case (ENOENT, .editRealServer(let e, let k)), (ENOENT, .deleteRealServer(let e, let k)):
            kind = .noSuchRealServer("\(e) in \(k)")
        case (EEXIST, .addService(let s)): kind = .serviceExists(s.key.description)
        case (EEXIST, .addRealServer(let e, let k)): kind = .realServerExists("\(e) in \(k)")
        case (EEXIST, .startDaemon(let d)): kind = .daemonRunning(d.role.description)
        case (ENODEV, .startDaemon(let d)): kind = .noSuchInterface(d.interface)
        case (ERANGE, _): kind = .outOfRange("a weight below 0, or a lower threshold above the upper one")
        case (EINVAL, _): kind = .invalid(invalidHint)
        case (EAFNOSUPPORT, _): kind = .invalid("address family not supported (is IPv6 disabled?)")
        case (ENOPROTOOPT, _): kind = .noIPVS
        default: kind = .kernel(String(cString: strerror(code)))
        }
        return IPVSError(kind, operation: text, errno: code)
    }

    private var serviceText: String {
        switch self {
        case .getService(let k), .deleteService(let k), .listRealServers(let k), .addRealServer(_, let k),
            .editRealServer(_, let k), .deleteRealServer(_, let k):
            k.description
        case .addService(let s), .editService(let s): s.key.description
        case .zero(let k): k?.description ?? "(all)"
        default: "(none)"
        }
    }

    /// What EINVAL most likely means for this request, from the kernel's checks.
    private var invalidHint: String {
        switch self {
        case .addService, .editService:
            "an IPv6 persistence netmask must be a prefix length of 1 to 128"
        case .addRealServer, .editRealServer:
            "the address must be unicast or local (in a namespace whose lo is down nothing is), a GUE tunnel "
                + "needs a port, the upper threshold must fit a signed 32-bit number, and a real server of another "
                + "family needs tunnel forwarding and no running sync daemon"
        case .startDaemon:
            "the group must be multicast, and no real server may be of another family than its service"
        case .setTimeouts: "a timeout above INT_MAX/HZ seconds"
        default: "malformed request"
        }
    }
}
