import Foundation

/// A director's configuration file for a test, as the YAML an operator would write: the daemon a test runs is built
/// from it (`LVSyncDaemon(file:path:host:logger:)` with an ``InMemoryHost``), exactly as `lvsync run` builds one.
/// Everything listens on loopback.
public struct TestDirectorFile: Sendable {
    /// The node name (the certificate written for it proves it).
    public var node: String
    /// The election priority.
    public var priority = 100
    /// The peer listener's port on 127.0.0.1 (nil: none).
    public var listen: Int?
    /// The peers and their listeners' ports on 127.0.0.1.
    public var peers: [(name: String, port: Int)]
    /// A role fixed by the file (`sync.role`: active or standby); nil: elected (give ``failover``).
    public var role: String?
    /// The `failover` section's body (YAML, without the `failover:` line); nil: none.
    public var failover: String?
    /// Megabytes of recent batches the active keeps for resuming standbys.
    public var logMegabytes = 64
    /// The connections every mirror table is sized for at start (`sync.table_connections`; 0: left out, they grow).
    public var tableConnections = 0
    /// The link's heartbeat interval.
    public var heartbeatMilliseconds = 50
    /// The link's dead interval.
    public var deadMilliseconds = 400
    /// A line of sync statistics every this many seconds (0: none).
    public var statsIntervalSeconds = 0
    /// The control socket's path (elected directors bind one; nil: a fresh one in the PKI's directory).
    public var controlSocket: String?
    /// More top-level YAML (virtual services, health, kernel).
    public var extra = ""
    /// The node certificate's validity window (nil: from five minutes ago for a day).
    public var certificateWindow: (notValidBefore: Date, notValidAfter: Date)?

    /// A file for `node` with these peers.
    public init(node: String, listen: Int?, peers: [(name: String, port: Int)]) {
        self.node = node
        self.listen = listen
        self.peers = peers
    }

    /// The YAML text, with the node's certificate and key written into `pki`'s directory.
    public func yaml(pki: TestPKI) throws -> String {
        let tls =
            try certificateWindow.map {
                try pki.files(node: node, notValidBefore: $0.notValidBefore, notValidAfter: $0.notValidAfter)
            } ?? pki.files(node: node)
        var text = """
            node: \(node)
            priority: \(priority)
            peers:
            \(peers.map { "  - { name: \($0.name), address: 127.0.0.1:\($0.port) }" }.joined(separator: "\n"))
            tls: { ca: \(tls.ca), certificate: \(tls.certificate), key: \(tls.key) }
            sync: { interface: lvsync0, address: 169.254.77.1, syncid: 7, log_megabytes: \(logMegabytes)\(tableConnections > 0 ? ", table_connections: \(tableConnections)" : "")\(role.map { ", role: \($0)" } ?? "") }
            timers: { heartbeat_ms: \(heartbeatMilliseconds), dead_ms: \(deadMilliseconds) }
            stats: { interval_seconds: \(statsIntervalSeconds) }
            control: { socket: \(controlSocket ?? pki.path("\(node)-\(UUID().uuidString.prefix(8)).sock")) }

            """
        if let listen { text += "listen: 127.0.0.1:\(listen)\n" }
        if let failover {
            text += "failover:\n" + failover.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n") + "\n"
        }
        return text + extra
    }
}
