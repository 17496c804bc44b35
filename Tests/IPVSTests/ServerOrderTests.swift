import LVSyncTestSupport
import SyncWire
import Testing

@testable import IPVS

@Suite("The order of an mh or sh service's real servers in the kernel")
struct ServerOrderTests {
    static let key = ServiceKey.address(.tcp, Endpoint("10.0.0.100:80")!)
    static func server(_ n: Int, weight: Int32 = 1) -> RealServer {
        RealServer(endpoint: Endpoint("10.0.1.\(n):80")!, forwarding: .directRoute, weight: weight)
    }
    static func service(_ scheduler: String, _ servers: [Int]) -> DesiredService {
        DesiredService(service: VirtualService(key: key, scheduler: scheduler), realServers: servers.map { server($0) })
    }

    /// Converges `ipvs` on `desired` and returns the changes made.
    @discardableResult
    static func converge(_ ipvs: InMemoryIPVS, _ desired: DesiredService) throws -> [IPVSChange] {
        let changes = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: [desired])
        try IPVSPlanner.apply(changes, to: ipvs)
        return changes
    }

    static func kernelList(_ ipvs: InMemoryIPVS) throws -> [Endpoint] {
        try ipvs.realServers(of: key).map(\.server.endpoint)
    }

    @Test("from nothing, the kernel's list is the file's order reversed (each new server goes to the head)")
    func fromNothing() throws {
        let ipvs = InMemoryIPVS()
        try Self.converge(ipvs, Self.service("mh", [1, 2, 3]))
        #expect(try Self.kernelList(ipvs) == [3, 2, 1].map { Self.server($0).endpoint })
    }

    @Test("a server added at the end of the list: one add, nothing deleted")
    func appendIsOneAdd() throws {
        let ipvs = InMemoryIPVS()
        try Self.converge(ipvs, Self.service("mh", [1, 2, 3]))
        let changes = try Self.converge(ipvs, Self.service("mh", [1, 2, 3, 4]))
        #expect(changes == [.addRealServer(Self.server(4), Self.key)])
    }

    @Test("a server inserted in the middle: those listed after it move, each deleted right before its add")
    func insertMovesTheOnesBefore() throws {
        let ipvs = InMemoryIPVS()
        try Self.converge(ipvs, Self.service("sh", [1, 3]))
        let changes = try Self.converge(ipvs, Self.service("sh", [1, 2, 3]))
        #expect(
            changes == [
                .addRealServer(Self.server(2), Self.key),
                .deleteRealServer(Self.server(3).endpoint, Self.key), .addRealServer(Self.server(3), Self.key),
            ]
        )
        #expect(try Self.kernelList(ipvs) == [3, 2, 1].map { Self.server($0).endpoint })
    }

    @Test("other schedulers keep the order they have: a new server is one add wherever it is listed")
    func otherSchedulersIgnoreOrder() throws {
        let ipvs = InMemoryIPVS()
        try Self.converge(ipvs, Self.service("wlc", [1, 3]))
        let changes = try Self.converge(ipvs, Self.service("wlc", [2, 1, 3]))
        #expect(changes == [.addRealServer(Self.server(2), Self.key)])
    }

    @Test("any history ends in the list a fresh director builds from the same file", arguments: 0..<300)
    func historyDoesNotMatter(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        let ipvs = InMemoryIPVS()
        var last = Self.service("mh", [])
        for _ in 0..<6 {
            let count = Int.random(in: 0...6, using: &random)
            let servers = Array((1...8).shuffled(using: &random).prefix(count))
            last = Self.service(Bool.random(using: &random) ? "mh" : "sh", servers)
            if Bool.random(using: &random) {
                last.realServers = last.realServers.map {
                    var s = $0; s.weight = Int32.random(in: 0...3, using: &random); return s
                }
            }
            try Self.converge(ipvs, last)
            #expect(ServerOrder.isCanonical(current: try IPVSPlanner.current(of: ipvs)[0], desired: last))
            #expect(IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: [last]).isEmpty)
        }
        let fresh = InMemoryIPVS()
        try Self.converge(fresh, last)
        #expect(try IPVSPlanner.current(of: fresh) == IPVSPlanner.current(of: ipvs))
    }

    @Test("the fingerprint: equal for the same kernel lists; another order or weight differs; other schedulers ignored")
    func fingerprint() throws {
        let web = Self.service("mh", [1, 2, 3])
        let dns = DesiredService(
            service: VirtualService(key: .address(.udp, Endpoint("10.0.0.100:53")!), scheduler: "rr"),
            realServers: [Self.server(1)]
        )
        let base = SchedulingFingerprint([web, dns])
        #expect(base.services.map(\.key) == [Self.key])
        #expect(base.fingerprint.count == 16)
        #expect(SchedulingFingerprint([dns, web]) == base)
        #expect(SchedulingFingerprint([web]).fingerprint == base.fingerprint)
        #expect(SchedulingFingerprint([Self.service("mh", [2, 1, 3])]).fingerprint != base.fingerprint)
        #expect(SchedulingFingerprint([Self.service("sh", [1, 2, 3])]).fingerprint != base.fingerprint)
        var heavier = web
        heavier.realServers[0].weight = 2
        #expect(SchedulingFingerprint([heavier]).fingerprint != base.fingerprint)
        #expect(SchedulingFingerprint([dns]).services.isEmpty)
    }
}
