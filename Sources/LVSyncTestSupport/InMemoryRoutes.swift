import HostNetwork
import Synchronization

/// An in-memory twin of the kernel's routing tables for announced routes: what is in them, and every put and take in
/// order.
public final class InMemoryRoutes: RouteAnnouncing {
    private let state = Mutex<(routes: Set<AnnouncedRoute>, log: [String])>(([], []))

    /// Empty tables.
    public init() {}

    /// The routes in the tables now.
    public var routes: Set<AnnouncedRoute> { state.withLock { $0.routes } }

    /// Every change, in order: `+ROUTE` or `-ROUTE`.
    public var log: [String] { state.withLock { $0.log } }

    /// Takes a route out behind the daemon's back (someone ran `ip route del`).
    public func remove(_ route: AnnouncedRoute) {
        _ = state.withLock { $0.routes.remove(route) }
    }

    @discardableResult
    public func announce(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        state.withLock { state in
            let added = state.routes.insert(route).inserted
            if added { state.log.append("+\(route)") }
            return added
        }
    }

    @discardableResult
    public func withdraw(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        state.withLock { state in
            let removed = state.routes.remove(route) != nil
            if removed { state.log.append("-\(route)") }
            return removed
        }
    }

    public func holds(_ route: AnnouncedRoute) throws(HostNetworkError) -> Bool {
        state.withLock { $0.routes.contains(route) }
    }
}
