/// When a cluster member may attract traffic: once it holds the cluster's connections. A pure rule, time passed in.
///
/// The member announces its VIPs when every other member's stream has reached its kernel (a snapshot, or a resume,
/// and everything since: ``SyncSink/inSync``) — except a member it has not linked to for `wait` since its start,
/// which is taken to be down (a member that is down has no flows to lose; one that comes back later streams to this
/// one as soon as they link). A linked member is always waited for, however long its snapshot takes: announcing
/// before it arrived would break that member's flows that the routers move here.
public enum ClusterReadiness {
    /// Another member as this one sees it.
    public struct Member: Sendable, Equatable {
        /// Its name.
        public var name: String
        /// A link to it is up.
        public var linked: Bool
        /// Its stream has reached this member's kernel.
        public var inSync: Bool

        /// Creates a view.
        public init(name: String, linked: Bool, inSync: Bool) {
            self.name = name
            self.linked = linked
            self.inSync = inSync
        }
    }

    /// The members the announcement still waits for (empty: announce), `sinceStart` after this member started.
    public static func waitingFor(_ members: [Member], sinceStart: Duration, wait: Duration) -> [String] {
        members.filter { !$0.inSync && ($0.linked || sinceStart < wait) }.map(\.name).sorted()
    }
}
