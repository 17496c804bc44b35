/// One line of `/proc/net/ip_vs_conn` or `/proc/net/ip_vs_conn_sync`: a connection or template as the kernel lists it.
///
/// /proc has no flags, full timeout, fwmark of ordinary connections, or sequence data: only what is here.
public struct ProcConnection: Hashable, Sendable {
    /// Where an entry came from, as `/proc/net/ip_vs_conn_sync` prints it.
    public enum Origin: String, Hashable, Sendable {
        /// Learned from a master (`IP_VS_CONN_F_SYNC`).
        case sync = "SYNC"
        /// Created by this director's own traffic.
        case local = "LOCAL"
    }

    /// The protocol (`IP` for firewall-mark templates).
    public var ipProtocol: IPProtocol
    /// The client (port 0 for templates).
    public var client: Endpoint
    /// The virtual service; a firewall-mark template shows its mark here (`0.0.0.7:0`).
    public var virtual: Endpoint
    /// The real server.
    public var destination: Endpoint
    /// The state name as printed (`ESTABLISHED`, `UDP`, `NONE`, `ASSURED`, …).
    public var stateName: String
    /// Seconds until the entry's timer fires.
    public var expires: UInt32
    /// `SYNC` or `LOCAL` (only in `/proc/net/ip_vs_conn_sync`).
    public var origin: Origin?
    /// The persistence engine's name and data (only in `/proc/net/ip_vs_conn`, only for templates that have it).
    public var persistence: PersistenceData?

    /// Creates a line's value.
    public init(
        ipProtocol: IPProtocol,
        client: Endpoint,
        virtual: Endpoint,
        destination: Endpoint,
        stateName: String,
        expires: UInt32,
        origin: Origin? = nil,
        persistence: PersistenceData? = nil
    ) {
        self.ipProtocol = ipProtocol
        self.client = client
        self.virtual = virtual
        self.destination = destination
        self.stateName = stateName
        self.expires = expires
        self.origin = origin
        self.persistence = persistence
    }

    /// Whether the line is a persistence template. /proc has no flags, so this is inferred the way a reader of the
    /// table does: protocol `IP`, or client port 0 with a template state name (`NONE`, `ASSURED`).
    public var isTemplate: Bool {
        ipProtocol == .ip || (client.port == 0 && (stateName == "NONE" || stateName == "ASSURED"))
    }
}

/// A parsed `/proc/net/ip_vs_conn` or `/proc/net/ip_vs_conn_sync` table.
public struct ProcConnTable: Sendable {
    /// The lines that parsed, in order.
    public var entries: [ProcConnection]
    /// One error per malformed line, each naming its 1-based line number.
    public var problems: [SyncWireError]

    /// Parses the text of either file. The header line is recognised and skipped; blank lines are ignored.
    public init(parsing text: String) {
        entries = []
        problems = []
        var lineNumber = 0
        var hasOrigin = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.isEmpty { continue }
            if fields[0] == "Pro" {
                hasOrigin = fields.contains("Origin")
                continue
            }
            do {
                entries.append(try Self.parseLine(fields, hasOrigin: hasOrigin))
            } catch {
                problems.append(SyncWireError(error.reason, line: lineNumber))
            }
        }
    }

    static func parseLine(_ fields: [Substring], hasOrigin: Bool) throws(SyncWireError) -> ProcConnection {
        func fail(_ why: String) -> SyncWireError { SyncWireError(.procLine(why)) }
        let minimum = hasOrigin ? 10 : 9
        guard fields.count >= minimum else {
            throw fail("expected at least \(minimum) columns, found \(fields.count)")
        }
        guard let proto = IPProtocol(name: fields[0]) else { throw fail("unknown protocol '\(fields[0])'") }
        func endpoint(_ a: Substring, _ p: Substring, _ column: String) throws(SyncWireError) -> Endpoint {
            guard let address = parseProcAddress(a) else {
                throw fail("\(column) address '\(a)' is not hex IPv4 or IPv6")
            }
            guard p.count == 4, let port = UInt16(p, radix: 16) else {
                throw fail("\(column) port '\(p)' is not 4 hex digits")
            }
            return Endpoint(address, port)
        }
        let client = try endpoint(fields[1], fields[2], "client")
        let virtual = try endpoint(fields[3], fields[4], "virtual")
        let destination = try endpoint(fields[5], fields[6], "destination")
        var origin: ProcConnection.Origin?
        var expiresIndex = 8
        if hasOrigin {
            guard let o = ProcConnection.Origin(rawValue: String(fields[8])) else {
                throw fail("origin '\(fields[8])' is not SYNC or LOCAL")
            }
            origin = o
            expiresIndex = 9
        }
        guard let expires = UInt32(fields[expiresIndex]) else {
            throw fail("expires '\(fields[expiresIndex])' is not a number of seconds")
        }
        var persistence: PersistenceData?
        let rest = fields.dropFirst(expiresIndex + 1)
        if let engine = rest.first {
            guard rest.count >= 2 else { throw fail("persistence engine '\(engine)' without data") }
            let data = rest.dropFirst().joined(separator: " ")
            persistence = PersistenceData(engine: String(engine), data: Array(data.utf8))
        }
        return ProcConnection(
            ipProtocol: proto,
            client: client,
            virtual: virtual,
            destination: destination,
            stateName: String(fields[7]),
            expires: expires,
            origin: origin,
            persistence: persistence
        )
    }

    /// Parses an address column: IPv4 as 8 hex digits (`%08X` of the address in host order), IPv6 as `%pI6`
    /// (eight 4-digit groups with colons).
    static func parseProcAddress(_ text: Substring) -> IPAddress? {
        if text.count == 8, !text.contains(":"), let value = UInt32(text, radix: 16) {
            return .v4(IPv4Address(value))
        }
        guard text.contains(":"), let v6 = IPv6Address(text) else { return nil }
        return .v6(v6)
    }
}
