import Config
import IPVS
import SyncWire

/// A real server of a service, as the health checks name it.
public struct ServerRef: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The service.
    public var service: ServiceKey
    /// The real server.
    public var server: Endpoint

    /// Names a real server.
    public init(service: ServiceKey, server: Endpoint) {
        self.service = service
        self.server = server
    }

    /// The real server a health check is for.
    public init(_ check: HealthConfig.RealServerCheck) {
        self.init(service: check.service, server: check.server)
    }

    public static func < (lhs: ServerRef, rhs: ServerRef) -> Bool {
        lhs.service != rhs.service ? lhs.service < rhs.service : "\(lhs.server)" < "\(rhs.server)"
    }

    public var description: String { "\(server) of \(service)" }
}

/// What the kernel's services should be given the configuration and the servers that are down: a pure function, so
/// that the daemon converges the kernel to it with the planner (a weight edited in place keeps a server's
/// connections; only what changed is sent).
///
/// - A down server with `on_failure: quiesce` keeps its place with weight 0: the scheduler gives it no new
///   connection; its established connections stay, and its persistence templates until they end or, with the
///   kernel's `expire_quiescent_template` (``KernelConfig``), at their client's next connection.
/// - A down server with `on_failure: remove` leaves the service; with the kernel's `expire_nodest_conn` the next
///   packet of each of its connections expires the entry and is scheduled to a live server.
/// - When no server of a service is left with a weight above 0, its sorry server (if it has one) is added; it leaves
///   again as soon as a real server is back.
/// - A server that is up again gets its configured weight back; with `ramp_up_ms`, gradually: `ramping` gives the
///   share of its ramp that has passed (0 to 1), and its weight is that share of the configured one (at least 1).
public enum HealthPolicy {
    /// The services as the kernel should hold them.
    public static func desired(
        _ services: [DesiredService],
        health: HealthConfig,
        down: Set<ServerRef>,
        ramping: [ServerRef: Double] = [:]
    ) -> [DesiredService] {
        let removeOnFailure = Set(
            health.checks.filter { $0.onFailure == .remove }.map(ServerRef.init)
        )
        return services.map { desired in
            var result = desired
            let key = desired.service.key
            result.realServers = desired.realServers.compactMap { server in
                let ref = ServerRef(service: key, server: server.endpoint)
                guard down.contains(ref) else {
                    guard let share = ramping[ref], share < 1, server.weight > 1 else { return server }
                    var ramped = server
                    ramped.weight = max(1, Int32((Double(server.weight) * max(0, share)).rounded(.up)))
                    return ramped
                }
                if removeOnFailure.contains(ref) { return nil }
                var quiesced = server
                quiesced.weight = 0
                return quiesced
            }
            if let sorry = health.sorryServers[key], !result.realServers.contains(where: { $0.weight > 0 }) {
                result.realServers.append(sorry)
            }
            return result
        }
    }
}
