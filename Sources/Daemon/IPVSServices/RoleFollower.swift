import Failover
import ServiceLifecycle

/// Tells the ``IPVSReconciler`` every change of the director's role (a director that becomes active applies what its
/// health checks found while it was a standby; one that steps down gives its servers their configured weights back).
struct RoleFollower: Service {
    let director: Director
    let reconciler: IPVSReconciler

    func run() async throws {
        let changes = director.changes
        let (id, wakeups) = changes.subscribe()
        defer { changes.unsubscribe(id) }
        await cancelWhenGracefulShutdown {
            for await _ in wakeups { reconciler.roleChanged(active: director.role == .active) }
        }
    }
}
