import SyncWire
import Testing

@testable import IPVS

#if canImport(Glibc)
    import Glibc
#endif

/// Each errno the kernel's IPVS returns, mapped to a sentence a person can act on, for the operation it answers.
@Suite("IPVS errors")
struct IPVSErrorTests {
    static let tcp80 = ServiceKey.address(.tcp, Endpoint("10.0.0.100:80")!)
    static let rs = Endpoint("10.0.0.21:80")!

    struct Case: Sendable, CustomTestStringConvertible {
        var operation: IPVSOperation
        var errno: Int32
        var text: String
        var testDescription: String { text }
    }

    static let cases: [Case] = [
        Case(
            operation: .deleteService(tcp80),
            errno: ESRCH,
            text: "delete virtual service tcp 10.0.0.100:80: no such virtual service tcp 10.0.0.100:80 (ESRCH)"
        ),
        Case(
            operation: .addRealServer(rs, tcp80),
            errno: ESRCH,
            text: "add real server 10.0.0.21:80 to tcp 10.0.0.100:80: no such virtual service tcp 10.0.0.100:80 (ESRCH)"
        ),
        Case(
            operation: .addRealServer(rs, tcp80),
            errno: EEXIST,
            text:
                "add real server 10.0.0.21:80 to tcp 10.0.0.100:80: real server 10.0.0.21:80 in tcp 10.0.0.100:80 already exists (EEXIST)"
        ),
        Case(
            operation: .deleteRealServer(rs, tcp80),
            errno: ENOENT,
            text:
                "delete real server 10.0.0.21:80 from tcp 10.0.0.100:80: no such real server 10.0.0.21:80 in tcp 10.0.0.100:80 (ENOENT)"
        ),
        Case(
            operation: .addService(VirtualService(key: tcp80, scheduler: "wrrr")),
            errno: ENOENT,
            text: "add virtual service tcp 10.0.0.100:80: scheduler 'wrrr' is not available in this kernel (ENOENT)"
        ),
        Case(
            operation: .addService(VirtualService(key: tcp80)),
            errno: EEXIST,
            text: "add virtual service tcp 10.0.0.100:80: virtual service tcp 10.0.0.100:80 already exists (EEXIST)"
        ),
        Case(
            operation: .listServices,
            errno: EPERM,
            text: "list virtual services: needs CAP_NET_ADMIN (run as root or grant the capability) (EPERM)"
        ),
        Case(
            operation: .startDaemon(SyncDaemon(role: .master, interface: "lvsync9", syncID: 9)),
            errno: ENODEV,
            text: "start the master sync daemon on lvsync9 (syncid 9): no such interface 'lvsync9' (ENODEV)"
        ),
        Case(
            operation: .startDaemon(SyncDaemon(role: .backup, interface: "lvsync0", syncID: 9)),
            errno: EEXIST,
            text: "start the backup sync daemon on lvsync0 (syncid 9): a backup sync daemon is already running (EEXIST)"
        ),
        Case(
            operation: .stopDaemon(.master),
            errno: ESRCH,
            text: "stop the master sync daemon: no master sync daemon is running (ESRCH)"
        ),
        Case(
            operation: .editRealServer(rs, tcp80),
            errno: ERANGE,
            text:
                "edit real server 10.0.0.21:80 of tcp 10.0.0.100:80: out of range: a weight below 0, or a lower threshold above the upper one (ERANGE)"
        ),
    ]

    @Test("errno to sentence", arguments: cases)
    func mapping(_ c: Case) {
        let error = c.operation.error(errno: c.errno)
        #expect(error.description == c.text)
        #expect(error.errno == c.errno)
    }

    @Test("the kernel without IPVS")
    func noIPVS() {
        let error = IPVSError(.noIPVS, operation: "connect to IPVS")
        #expect(
            error.description
                == "connect to IPVS: the kernel has no IPVS (modprobe ip_vs, or a kernel built with CONFIG_IP_VS)"
        )
    }
}

/// The real netlink path on this machine: where the kernel has no IPVS (these machines' kernels), connecting
/// must say so in words; where it has, it must connect.
@Suite("IPVS over netlink on this host")
struct HostNetlinkTests {
    @Test("connecting tells whether the kernel has IPVS")
    func connect() throws {
        let hasIPVS = access("/proc/net/ip_vs", F_OK) == 0
        do {
            let ipvs = try NetlinkIPVS()
            #expect(hasIPVS)
            #expect(try ipvs.info().version.hasPrefix("1."))
        } catch {
            #expect(!hasIPVS)
            #expect(error.kind == .noIPVS)
        }
    }

    @Test("a network namespace that does not exist is named in the error")
    func missingNamespace() {
        #expect {
            try NetlinkIPVS(namespace: "lvsync-no-such-namespace")
        } throws: { error in
            (error as? IPVSError)?.description.contains("lvsync-no-such-namespace") == true
        }
    }
}
