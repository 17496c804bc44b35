import IPVS
import SyncWire

/// Measures the IPVS control plane against a real kernel: applying a table of `services` TCP services with
/// `realServers` real servers each to an empty IPVS (plan and netlink requests), listing it back, planning an
/// unchanged table again (the no-op apply), and flushing it. Run it in a scratch network namespace.
public struct IPVSBenchmark: Sendable {
    /// The figures, in seconds.
    public struct Result: Sendable {
        public var services: Int
        public var realServers: Int
        public var applySeconds: Double
        public var listSeconds: Double
        public var unchangedApplySeconds: Double
        public var flushSeconds: Double
        /// Netlink requests the first apply made.
        public var changes: Int
    }

    public var services: Int
    public var realServersPerService: Int

    /// Creates the benchmark.
    public init(services: Int = 1000, realServersPerService: Int = 10) {
        self.services = services
        self.realServersPerService = realServersPerService
    }

    /// The table: services 10.1.x.y:80 (wrr), real servers 10.2.x.y:80 (direct routing, weights 1 to 10).
    public func table() -> [DesiredService] {
        (0..<services).map { s in
            let vip = IPv4Address(UInt32(0x0a01_0000) + UInt32(s) + 1)
            return DesiredService(
                service: VirtualService(key: .address(.tcp, Endpoint(.v4(vip), 80)), scheduler: "wrr"),
                realServers: (0..<realServersPerService).map { r in
                    let address = IPv4Address(UInt32(0x0a02_0000) + UInt32(s * realServersPerService + r) + 1)
                    return RealServer(endpoint: Endpoint(.v4(address), 80), weight: Int32(r % 10 + 1))
                }
            )
        }
    }

    /// Runs every measurement against `ipvs`, which must start empty.
    public func run(on ipvs: any IPVSControl) throws(IPVSError) -> Result {
        let desired = table()
        let clock = ContinuousClock()
        var start = clock.now
        let changes = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: desired)
        try IPVSPlanner.apply(changes, to: ipvs)
        let apply = (clock.now - start).seconds

        start = clock.now
        let listed = try IPVSPlanner.current(of: ipvs)
        let list = (clock.now - start).seconds
        precondition(listed.count == services, "the kernel lists every service")

        start = clock.now
        let again = IPVSPlanner.plan(current: try IPVSPlanner.current(of: ipvs), desired: desired)
        let unchanged = (clock.now - start).seconds
        precondition(again.isEmpty, "an unchanged table needs no change")

        start = clock.now
        try ipvs.flush()
        let flush = (clock.now - start).seconds
        return Result(
            services: services,
            realServers: services * realServersPerService,
            applySeconds: apply,
            listSeconds: list,
            unchangedApplySeconds: unchanged,
            flushSeconds: flush,
            changes: changes.count
        )
    }
}
