import LVSyncTestSupport
import SyncWire
import Testing

@testable import IPVS

@Suite("Converging the kernel's table")
struct IPVSPlannerTests {
    static let web = ServiceKey.address(.tcp, Endpoint("10.0.0.100:80")!)
    static let dns = ServiceKey.address(.udp, Endpoint("10.0.0.100:53")!)
    static let rs1 = RealServer(endpoint: Endpoint("10.0.0.21:80")!, forwarding: .directRoute, weight: 1)
    static let rs2 = RealServer(endpoint: Endpoint("10.0.0.22:80")!, forwarding: .directRoute, weight: 1)

    static let desired = [
        DesiredService(service: VirtualService(key: web, scheduler: "wrr"), realServers: [rs1, rs2]),
        DesiredService(
            service: VirtualService(key: dns, scheduler: "rr", flags: .persistent, persistenceTimeout: 120),
            realServers: [RealServer(endpoint: Endpoint("10.0.0.21:53")!, forwarding: .masquerade)]
        ),
    ]

    @Test("from nothing: services first, then their real servers")
    func fromNothing() {
        let changes = IPVSPlanner.plan(current: [], desired: Self.desired)
        #expect(changes.count == 5)
        #expect(changes.first == .addService(Self.desired[1].service))
        #expect(
            changes.map(\.description).contains("+ real server 10.0.0.21:80 in tcp 10.0.0.100:80 (Route, weight 1)")
        )
    }

    @Test("a weight change is an edit in place, not a delete and an add")
    func weightIsEdited() {
        var target = Self.desired
        target[0].realServers[1].weight = 5
        let changes = IPVSPlanner.plan(current: Self.desired, desired: target)
        #expect(changes == [.editRealServer(target[0].realServers[1], Self.web, from: Self.rs2)])
        #expect(changes[0].description == "~ real server 10.0.0.22:80 in tcp 10.0.0.100:80: weight 1 -> 5")
    }

    @Test("a replaced real server: the new one is added before the old one is removed")
    func replaceKeepsTheServiceServed() {
        var target = Self.desired
        let rs3 = RealServer(endpoint: Endpoint("10.0.0.23:80")!, forwarding: .directRoute)
        target[0].realServers = [rs3]
        let changes = IPVSPlanner.plan(current: Self.desired, desired: target)
        #expect(
            changes == [
                .addRealServer(rs3, Self.web), .deleteRealServer(Self.rs1.endpoint, Self.web),
                .deleteRealServer(Self.rs2.endpoint, Self.web),
            ]
        )
    }

    @Test("a service left out is deleted, last; its settings changed are edited")
    func serviceChanges() {
        var target = [Self.desired[0]]
        target[0].service.scheduler = "lc"
        let changes = IPVSPlanner.plan(current: Self.desired, desired: target)
        #expect(changes == [.editService(target[0].service, from: Self.desired[0].service), .deleteService(Self.dns)])
        #expect(changes[0].description == "~ service tcp 10.0.0.100:80: scheduler wrr -> lc")
        #expect(changes[1].description == "- service udp 10.0.0.100:53")
    }

    @Test("apply converges, and a second plan is empty")
    func convergesAndIsIdempotent() throws {
        let ipvs = InMemoryIPVS()
        try ipvs.addService(VirtualService(key: .firewallMark(9, .inet), scheduler: "rr"))
        try ipvs.addService(VirtualService(key: Self.web, scheduler: "rr"))
        try ipvs.addRealServer(RealServer(endpoint: Endpoint("10.0.0.29:80")!), to: Self.web)
        try ipvs.addRealServer(Self.rs1, to: Self.web)
        let changes = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: Self.desired)
        try IPVSPlanner.apply(changes, to: ipvs)
        let now = try IPVSPlanner.current(of: ipvs)
        #expect(IPVSPlanner.plan(current: now, desired: Self.desired).isEmpty)
        #expect(Set(now.map(\.service)) == Set(Self.desired.map(\.service)))
    }
}
