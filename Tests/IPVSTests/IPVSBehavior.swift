import LVSyncTestSupport
import SyncWire
import Testing

@testable import IPVS

/// The behaviour every ``IPVSControl`` must show: the kernel's. It runs against ``InMemoryIPVS`` everywhere and
/// against ``NetlinkIPVS`` and a real kernel in the lab guest, so the twin cannot drift from the kernel.
enum IPVSBehavior {
    /// Empties the table and stops the daemons.
    static func reset(_ ipvs: any IPVSControl) throws {
        try ipvs.flush()
        for daemon in try ipvs.syncDaemons() { try ipvs.stopSyncDaemon(daemon.role) }
    }

    static func timeouts(_ ipvs: any IPVSControl) throws {
        let original = try ipvs.timeouts()
        try ipvs.setTimeouts(IPVSTimeouts(tcp: 901, tcpFin: 121, udp: 301))
        #expect(try ipvs.timeouts() == IPVSTimeouts(tcp: 901, tcpFin: 121, udp: 301))
        try ipvs.setTimeouts(IPVSTimeouts(tcp: 0, tcpFin: 0, udp: 302))
        #expect(try ipvs.timeouts() == IPVSTimeouts(tcp: 901, tcpFin: 121, udp: 302))
        try ipvs.setTimeouts(original)
    }

    static func servicesAndRealServers(_ ipvs: any IPVSControl) throws {
        try reset(ipvs)
        for service in IPVSAttributeTests.services { try ipvs.addService(service) }
        let listed = try ipvs.services().map(\.service)
        #expect(Set(listed) == Set(IPVSAttributeTests.services))

        let tcp = IPVSAttributeTests.services[0].key
        let v4Servers = IPVSAttributeTests.realServers.filter { $0.endpoint.address.family == .inet }
        for server in v4Servers { try ipvs.addRealServer(server, to: tcp) }
        #expect(Set(try ipvs.realServers(of: tcp).map(\.server)) == Set(v4Servers))

        let v6 = IPVSAttributeTests.services[3].key
        let v6Server = RealServer(endpoint: Endpoint("[fd00::22]:443")!, forwarding: .masquerade, weight: 2)
        try ipvs.addRealServer(v6Server, to: v6)
        #expect(try ipvs.realServers(of: v6).map(\.server) == [v6Server])

        var edited = v4Servers[0]
        edited.weight = 0
        edited.upperThreshold = 50
        try ipvs.editRealServer(edited, in: tcp)
        #expect(try ipvs.realServers(of: tcp).map(\.server).contains(edited))

        var service = IPVSAttributeTests.services[0]
        service.scheduler = "wlc"
        service.flags = .persistent
        service.persistenceTimeout = 30
        try ipvs.editService(service)
        #expect(try ipvs.services().map(\.service).contains(service))

        try ipvs.deleteRealServer(edited.endpoint, from: tcp)
        #expect(try ipvs.realServers(of: tcp).count == v4Servers.count - 1)
        try ipvs.deleteService(tcp)
        #expect(try ipvs.services().count == IPVSAttributeTests.services.count - 1)
        try ipvs.zeroCounters(nil)
        try ipvs.zeroCounters(v6)
        try ipvs.flush()
        #expect(try ipvs.services().isEmpty)
    }

    static func errors(_ ipvs: any IPVSControl) throws {
        try reset(ipvs)
        let service = VirtualService(key: .address(.tcp, Endpoint("10.9.0.1:80")!), scheduler: "rr")
        let missing = ServiceKey.address(.tcp, Endpoint("10.9.0.2:80")!)
        let server = RealServer(endpoint: Endpoint("10.9.0.21:80")!, forwarding: .masquerade)
        try ipvs.addService(service)
        try ipvs.addRealServer(server, to: service.key)

        #expect(kind { try ipvs.addService(service) } == .serviceExists("tcp 10.9.0.1:80"))
        #expect(kind { try ipvs.deleteService(missing) } == .noSuchService("tcp 10.9.0.2:80"))
        #expect(kind { try ipvs.addRealServer(server, to: missing) } == .noSuchService("tcp 10.9.0.2:80"))
        #expect(kind { _ = try ipvs.realServers(of: missing) } == .noSuchService("tcp 10.9.0.2:80"))
        #expect(kind { try ipvs.zeroCounters(missing) } == .noSuchService("tcp 10.9.0.2:80"))
        #expect(
            kind { try ipvs.addRealServer(server, to: service.key) }
                == .realServerExists("10.9.0.21:80 in tcp 10.9.0.1:80")
        )
        let absent = Endpoint("10.9.0.22:80")!
        #expect(
            kind { try ipvs.deleteRealServer(absent, from: service.key) }
                == .noSuchRealServer("10.9.0.22:80 in tcp 10.9.0.1:80")
        )
        var absentServer = server
        absentServer.endpoint = absent
        #expect(
            kind { try ipvs.editRealServer(absentServer, in: service.key) }
                == .noSuchRealServer("10.9.0.22:80 in tcp 10.9.0.1:80")
        )
        let range = IPVSError.Kind.outOfRange("a weight below 0, or a lower threshold above the upper one")
        var negative = server
        negative.weight = -1
        #expect(kind { try ipvs.editRealServer(negative, in: service.key) } == range)
        var thresholds = server
        thresholds.upperThreshold = 10
        thresholds.lowerThreshold = 20
        #expect(kind { try ipvs.editRealServer(thresholds, in: service.key) } == range)
        let unknown = VirtualService(key: .address(.tcp, Endpoint("10.9.0.3:80")!), scheduler: "wrrr")
        #expect(kind { try ipvs.addService(unknown) } == .unknownSchedulerOrEngine("scheduler 'wrrr'"))
        var badPrefix = VirtualService(key: .address(.tcp, Endpoint("[fd00::9]:80")!), scheduler: "rr")
        badPrefix.netmask = 129
        if case .invalid = kind({ try ipvs.addService(badPrefix) }) {
        } else {
            Issue.record("an IPv6 prefix of 129 must be refused")
        }
        var multicast = server
        multicast.endpoint = Endpoint("224.0.0.9:80")!
        if case .invalid = kind({ try ipvs.addRealServer(multicast, to: service.key) }) {
        } else {
            Issue.record("a multicast real server must be refused")
        }
        var gue = server
        gue.endpoint = Endpoint("10.9.0.30:80")!
        gue.forwarding = .tunnel
        gue.tunnel = TunnelSettings(type: .gue, port: 0)
        if case .invalid = kind({ try ipvs.addRealServer(gue, to: service.key) }) {
        } else {
            Issue.record("a GUE tunnel without a port must be refused")
        }
        var otherFamily = server
        otherFamily.endpoint = Endpoint("[fd00::30]:80")!
        if case .invalid = kind({ try ipvs.addRealServer(otherFamily, to: service.key) }) {
        } else {
            Issue.record("an IPv6 real server in an IPv4 service must be refused unless tunnelled")
        }
        try ipvs.flush()
    }

    static func syncDaemons(_ ipvs: any IPVSControl) throws {
        try reset(ipvs)
        let master = SyncDaemon(role: .master, interface: "lo", syncID: 9)
        let backup = SyncDaemon(role: .backup, interface: "lo", syncID: 9, maximumLength: 1500, port: 9000, ttl: 2)
        try ipvs.startSyncDaemon(master)
        try ipvs.startSyncDaemon(backup)
        let daemons = try ipvs.syncDaemons()
        #expect(daemons.map(\.role) == [.master, .backup])
        #expect(daemons[0].interface == "lo" && daemons[0].syncID == 9)
        #expect(daemons[0].group == IPAddress("224.0.0.81") && daemons[0].port == 8848 && daemons[0].ttl == 1)
        #expect(daemons[1].port == 9000 && daemons[1].ttl == 2 && daemons[1].maximumLength == 1500)

        #expect(kind { try ipvs.startSyncDaemon(master) } == .daemonRunning("master"))
        try ipvs.stopSyncDaemon(.master)
        try ipvs.stopSyncDaemon(.backup)
        #expect(try ipvs.syncDaemons().isEmpty)
        #expect(kind { try ipvs.stopSyncDaemon(.backup) } == .noDaemonRunning("backup"))
        let nowhere = SyncDaemon(role: .master, interface: "lvsync-none", syncID: 1)
        #expect(kind { try ipvs.startSyncDaemon(nowhere) } == .noSuchInterface("lvsync-none"))
        var unicast = master
        unicast.group = IPAddress("10.0.0.1")
        if case .invalid = kind({ try ipvs.startSyncDaemon(unicast) }) {
        } else {
            Issue.record("a unicast sync group must be refused")
        }
    }
}

/// The behaviour against the in-memory twin (runs everywhere).
@Suite("IPVS in memory behaves as the kernel")
struct InMemoryIPVSTests {
    @Test("timeouts") func timeouts() throws { try IPVSBehavior.timeouts(InMemoryIPVS()) }
    @Test("services and real servers") func services() throws {
        try IPVSBehavior.servicesAndRealServers(InMemoryIPVS())
    }
    @Test("errors") func errors() throws { try IPVSBehavior.errors(InMemoryIPVS()) }
    @Test("sync daemons") func daemons() throws { try IPVSBehavior.syncDaemons(InMemoryIPVS()) }
}
