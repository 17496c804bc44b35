import IPVS
import SyncWire

/// The health checks of the real servers, declared in `virtual_services` beside each server, and each service's
/// sorry server:
///
/// ```yaml
/// virtual_services:
///   - protocol: tcp
///     address: 10.0.0.100
///     port: 80
///     sorry_server: { address: 10.0.0.99, port: 8080, forwarding: nat }   # while every real server is down
///     real_servers:
///       - address: 10.0.0.21
///         on_failure: quiesce      # quiesce (weight 0: new connections go elsewhere) or remove
///         check:
///           type: http             # tcp, http, https, udp, dns or command
///           port: 80               # default: the real server's port
///           path: /health          # http(s): the path, the Host header, the statuses that pass, a body digest
///           host: www.example.com
///           status: [200, 204]
///           body_sha256: 2cf2...   # optional
///           interval_ms: 2000      # between a probe's end and the next one (default 2000)
///           timeout_ms: 1000       # a probe longer than this fails (default 1000)
///           rise: 2                # passes in a row that bring a server back (default 2)
///           fall: 3                # failures in a row that take it out (default 3)
///           source: 10.0.0.2       # optional local address to probe from
///           ramp_up_ms: 30000      # a server back from down regains its weight gradually over this long (default 0)
///       # udp:     payload: "ping", expect: "pong"   (a reply starting with expect; any reply without it)
///       # dns:     name: example.com, record: A       (NOERROR with the query's ID)
///       # command: command: [/usr/local/lib/lvsync/check-db, "10.0.0.21"]   (exit status 0)
/// ```
public struct HealthConfig: Hashable, Sendable {
    /// Every check, in the file's order.
    public var checks: [RealServerCheck]
    /// The sorry server of each service that has one.
    public var sorryServers: [ServiceKey: RealServer]

    /// No checks.
    public init(checks: [RealServerCheck] = [], sorryServers: [ServiceKey: RealServer] = [:]) {
        self.checks = checks
        self.sorryServers = sorryServers
    }

    /// What a failing real server turns into.
    public enum OnFailure: String, Hashable, Sendable {
        /// Weight 0: the scheduler sends it no new connection; established ones stay (see the kernel's
        /// `expire_nodest_conn` and `expire_quiescent_template` for how they end).
        case quiesce
        /// Removed from the service: its connections lose their destination.
        case remove
    }

    /// How a check asks.
    public enum Probe: Hashable, Sendable {
        /// A TCP connect.
        case tcp
        /// An HTTP(S) GET.
        case http(path: String, host: String?, statuses: Set<Int>, bodySHA256: String?, tls: Bool)
        /// A datagram and a reply.
        case udp(payload: [UInt8], expect: [UInt8]?)
        /// A DNS query.
        case dns(name: String, type: UInt16)
        /// A command's exit status.
        case command(path: String, arguments: [String])
    }

    /// One real server's check.
    public struct RealServerCheck: Hashable, Sendable {
        /// The service.
        public var service: ServiceKey
        /// The real server as the service lists it.
        public var server: Endpoint
        /// How to ask.
        public var probe: Probe
        /// The address and port the probe goes to.
        public var target: Endpoint
        /// The local address to probe from (nil: the kernel's choice).
        public var source: IPAddress?
        /// Between a probe's end and the next one, milliseconds.
        public var intervalMilliseconds: Int
        /// A probe's limit, milliseconds.
        public var timeoutMilliseconds: Int
        /// Passes in a row that bring the server back.
        public var rise: Int
        /// Failures in a row that take it out.
        public var fall: Int
        /// What a failure does.
        public var onFailure: OnFailure
        /// How long a server back from down takes to regain its full weight (0: at once).
        public var rampUpMilliseconds: Int = 0

        /// Creates a check.
        public init(
            service: ServiceKey,
            server: Endpoint,
            probe: Probe,
            target: Endpoint,
            source: IPAddress?,
            intervalMilliseconds: Int,
            timeoutMilliseconds: Int,
            rise: Int,
            fall: Int,
            onFailure: OnFailure
        ) {
            self.service = service
            self.server = server
            self.probe = probe
            self.target = target
            self.source = source
            self.intervalMilliseconds = intervalMilliseconds
            self.timeoutMilliseconds = timeoutMilliseconds
            self.rise = rise
            self.fall = fall
            self.onFailure = onFailure
        }
    }

    static let checkKeys: Set<String> = [
        "type", "port", "path", "host", "status", "body_sha256", "payload", "expect", "name", "record", "command",
        "interval_ms", "timeout_ms", "rise", "fall", "source", "ramp_up_ms",
    ]

    /// Reads the checks and sorry servers of `virtual_services`, whose services `services` were parsed from it.
    static func parse(_ value: YAMLValue, services: [DesiredService]) throws(ConfigError) -> HealthConfig {
        var health = HealthConfig()
        for (index, item) in try value.sequence().enumerated() where index < services.count {
            let service = services[index]
            let fields = try item.mapping(allowed: VirtualServicesConfig.serviceKeys)
            if let sorry = fields["sorry_server"] {
                let server = try VirtualServicesConfig.parseRealServer(
                    sorry,
                    service: service.service.key,
                    defaultPort: servicePort(service.service.key)
                )
                if service.realServers.contains(where: { $0.endpoint == server.endpoint }) {
                    throw sorry.error("the sorry server \(server.endpoint) is also a real server of this service")
                }
                health.sorryServers[service.service.key] = server
            }
            for (serverIndex, entry) in try (fields["real_servers"]?.sequence() ?? []).enumerated()
            where serverIndex < service.realServers.count {
                let server = service.realServers[serverIndex]
                let serverFields = try entry.mapping(allowed: VirtualServicesConfig.realServerKeys)
                let onFailure =
                    try serverFields["on_failure"]?.oneOf(["quiesce": OnFailure.quiesce, "remove": .remove])
                    ?? .quiesce
                guard let check = serverFields["check"] else {
                    if let policy = serverFields["on_failure"] { throw policy.error("on_failure needs a check") }
                    continue
                }
                health.checks.append(
                    try parseCheck(check, service: service.service.key, server: server.endpoint, onFailure: onFailure)
                )
            }
        }
        return health
    }

    static func parseCheck(
        _ value: YAMLValue,
        service: ServiceKey,
        server: Endpoint,
        onFailure: OnFailure
    ) throws(ConfigError) -> RealServerCheck {
        let f = try value.mapping(allowed: checkKeys)
        let type = try f.required("type", in: value)
        let kind = try type.oneOf(["tcp": 0, "http": 1, "https": 2, "udp": 3, "dns": 4, "command": 5])
        let keysByKind: [Int: Set<String>] = [
            0: [], 1: ["path", "host", "status", "body_sha256"], 2: ["path", "host", "status", "body_sha256"],
            3: ["payload", "expect"], 4: ["name", "record"], 5: ["command"],
        ]
        let specific: Set<String> = [
            "path", "host", "status", "body_sha256", "payload", "expect", "name", "record", "command",
        ]
        for key in specific where f[key] != nil && !(keysByKind[kind] ?? []).contains(key) {
            throw f[key]!.error("'\(key)' is not a setting of a \(try type.string()) check")
        }
        let probe: Probe
        switch kind {
        case 0:
            probe = .tcp
        case 1, 2:
            let path = try f["path"]?.string() ?? "/"
            guard path.hasPrefix("/") else { throw f["path"]!.error("an HTTP path starts with /, found \"\(path)\"") }
            var statuses: Set<Int> = [200]
            if let list = f["status"] {
                statuses = []
                for item in try list.sequence() { statuses.insert(try item.integer(Int.self, in: 100...599)) }
                if statuses.isEmpty { throw list.error("list at least one status") }
            }
            var digest: String?
            if let d = f["body_sha256"] {
                let text = try d.string().lowercased()
                guard text.count == 64, text.allSatisfy(\.isHexDigit) else {
                    throw d.error("expected a SHA-256 digest: 64 hexadecimal digits")
                }
                digest = text
            }
            probe = .http(
                path: path,
                host: try f["host"]?.string(),
                statuses: statuses,
                bodySHA256: digest,
                tls: kind == 2
            )
        case 3:
            let payload = Array(try f["payload"]?.string().utf8 ?? "lvsync".utf8)
            probe = .udp(
                payload: payload,
                expect: try f["expect"].map { value throws(ConfigError) in Array(try value.string().utf8) }
            )
        case 4:
            let name = try f.required("name", in: value).string()
            guard !name.isEmpty, name.count <= 253 else { throw f["name"]!.error("expected a DNS name") }
            let records: [String: UInt16] = ["a": 1, "aaaa": 28, "ns": 2, "mx": 15, "txt": 16, "soa": 6]
            let record = try f["record"]?.oneOf(records) ?? 1
            probe = .dns(name: name, type: record)
        default:
            let list = try f.required("command", in: value)
            var words: [String] = []
            for item in try list.sequence() { words.append(try item.string()) }
            guard let path = words.first, path.hasPrefix("/") else {
                throw list.error(
                    "the command is a list whose first word is an absolute path, e.g. [/usr/local/bin/check, arg]"
                )
            }
            probe = .command(path: path, arguments: Array(words.dropFirst()))
        }
        var port = server.port
        if let p = f["port"] { port = try p.integer(UInt16.self, in: 1...UInt16.max) }
        if port == 0, !isCommand(probe) {
            throw value.error("this real server has no port (a firewall-mark service): give the check a port")
        }
        let interval = try f["interval_ms"]?.integer(Int.self, in: 10...3_600_000) ?? 2000
        let timeout = try f["timeout_ms"]?.integer(Int.self, in: 10...600_000) ?? 1000
        var check = RealServerCheck(
            service: service,
            server: server,
            probe: probe,
            target: Endpoint(server.address, port),
            source: try f["source"].map(VirtualServicesConfig.address),
            intervalMilliseconds: interval,
            timeoutMilliseconds: timeout,
            rise: try f["rise"]?.integer(Int.self, in: 1...100) ?? 2,
            fall: try f["fall"]?.integer(Int.self, in: 1...100) ?? 3,
            onFailure: onFailure
        )
        check.rampUpMilliseconds = try f["ramp_up_ms"]?.integer(Int.self, in: 0...3_600_000) ?? 0
        return check
    }

    private static func servicePort(_ key: ServiceKey) -> UInt16 {
        if case .address(_, let endpoint) = key { return endpoint.port }
        return 0
    }

    private static func isCommand(_ probe: Probe) -> Bool {
        if case .command = probe { return true }
        return false
    }
}
