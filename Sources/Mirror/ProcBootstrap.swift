import SyncWire

/// Seeds a mirror from `/proc/net/ip_vs_conn` when lvsync starts on an active director that already has
/// connections: the kernel master syncs a connection only when its packets move it, so without this, idle
/// connections would reach the standby late or never.
///
/// The proc table lacks what a sync entry carries, so each entry is an approximation built from what it shows:
///
/// - **Flags.** The forwarding method comes from the caller (the proc table has no forwarding column; the caller
///   looks the virtual service and real server up in the IPVS service table), masquerade when it does not know.
///   `IP_VS_CONN_F_NOOUTPUT` follows the method as the kernel's real-server flags set it (every method but
///   masquerade). `IP_VS_CONN_F_TEMPLATE` is set for the lines ``ProcConnection/isTemplate`` names templates
///   (protocol `IP`, or client port 0 with a template state: the kernel's `ip_vs_conn_seq_show()` prints no flags).
///   `IP_VS_CONN_F_INACTIVE` follows the kernel's rules: set on templates and UDP connections, on TCP connections
///   outside `ESTABLISHED`, `SYN_SENT`, `SYN_RECV` and `SYNACK` (`tcp_state_active_table`), on SCTP connections
///   outside `ESTABLISHED`. Flags proc cannot show (sequence adjustment, one-packet scheduling, no client port) are
///   clear.
/// - **Timeout.** The full timeout is not listed, only the seconds left (`Expires`). The entry gets the
///   protocol-and-state default of `timeouts` (``DefaultTimeouts/kernel``: TCP `ESTABLISHED` 900 s, UDP 300 s,
///   templates 180 s) or the seconds left if that is more, since the full timeout is never less than what is left.
///   A persistence template's real timeout is its service's persistence timeout, which may differ from 180 s.
/// - **Firewall mark.** A firewall-mark template (protocol `IP`) shows its mark as its virtual address
///   (`0.0.0.7:0`; IPv6: the first 32 bits), which is also its mark. Ordinary connections carry the packet's mark,
///   which proc does not show: 0.
/// - **Persistence data.** The `PEName` and `PEData` columns, as listed (SIP: the Call-ID).
public enum ProcBootstrap {
    /// Finds the forwarding method of the real server `destination` of the virtual service (`ipProtocol`,
    /// `virtual`); nil when unknown (masquerade is assumed). For a firewall-mark service's connections `virtual` is
    /// the address and port the client used, not a configured service: look the real server up among the
    /// firewall-mark services too.
    public typealias ForwardingLookup = (
        _ ipProtocol: IPProtocol, _ virtual: Endpoint, _ destination: Endpoint
    ) -> ForwardingMethod?

    /// The result of ``connections(from:forwarding:timeouts:)``.
    public struct Result: Sendable {
        /// One entry per usable line, in table order.
        public var connections: [SyncConnection]
        /// Lines that could not become entries (a state name the kernel prints as `ERR!`, mixed address families).
        public var unusable: [ProcConnection]
    }

    /// Turns the lines of `/proc/net/ip_vs_conn` into sync entries (see the type's documentation for what is
    /// approximated).
    public static func connections(
        from table: ProcConnTable,
        forwarding: ForwardingLookup = { _, _, _ in nil },
        timeouts: DefaultTimeouts = .kernel
    ) -> Result {
        var result = Result(connections: [], unusable: [])
        result.connections.reserveCapacity(table.entries.count)
        for line in table.entries {
            if let connection = connection(from: line, forwarding: forwarding, timeouts: timeouts) {
                result.connections.append(connection)
            } else {
                result.unusable.append(line)
            }
        }
        return result
    }

    /// One line as a sync entry; nil when its state name is unknown or its addresses are of two families.
    public static func connection(
        from line: ProcConnection,
        forwarding: ForwardingLookup = { _, _, _ in nil },
        timeouts: DefaultTimeouts = .kernel
    ) -> SyncConnection? {
        let template = line.isTemplate
        guard let state = ConnectionState(name: line.stateName, protocol: line.ipProtocol, template: template),
            line.client.address.family == line.virtual.address.family,
            line.client.address.family == line.destination.address.family
        else { return nil }
        let method = forwarding(line.ipProtocol, line.virtual, line.destination) ?? .masquerade
        var flags = ConnectionFlags(rawValue: method.rawValue)
        if method != .masquerade { flags.insert(.noOutput) }
        if template { flags.insert(.template) }
        if isInactive(line.ipProtocol, state: state, template: template) { flags.insert(.inactive) }
        var connection = SyncConnection(
            ipProtocol: line.ipProtocol,
            client: line.client,
            virtual: line.virtual,
            destination: line.destination,
            flags: flags,
            state: state,
            fwmark: template && line.ipProtocol == .ip ? fwmark(shownAs: line.virtual.address) : 0,
            persistence: line.persistence
        )
        guard let entry = connection.entry else { return nil }
        connection.timeout = max(timeouts.timeout(for: entry), line.expires)
        return connection
    }

    /// Whether the kernel holds a connection in this state as inactive (`IP_VS_CONN_F_INACTIVE`).
    static func isInactive(_ ipProtocol: IPProtocol, state: ConnectionState, template: Bool) -> Bool {
        if template { return true }
        switch ipProtocol {
        case .tcp: return ![1, 2, 3, 10].contains(state.rawValue)  // ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK
        case .sctp: return state.rawValue != 8  // ESTABLISHED
        default: return true
        }
    }

    /// The mark of a firewall-mark template, which the kernel stores big-endian in the first 32 bits of the
    /// virtual address.
    static func fwmark(shownAs address: IPAddress) -> UInt32 {
        switch address {
        case .v4(let a): a.value
        case .v6(let a): UInt32(truncatingIfNeeded: a.high >> 32)
        }
    }
}

extension MirrorTable {
    /// Upserts every usable line of `/proc/net/ip_vs_conn` (as ``ProcBootstrap`` approximates it), expiring at
    /// `now` plus each entry's timeout.
    /// - Returns: the lines that could not become entries.
    @discardableResult
    public mutating func seed(
        from table: ProcConnTable,
        forwarding: ProcBootstrap.ForwardingLookup = { _, _, _ in nil },
        now: MirrorTime
    ) -> [ProcConnection] {
        let result = ProcBootstrap.connections(from: table, forwarding: forwarding, timeouts: defaultTimeouts)
        for connection in result.connections { upsert(connection, now: now) }
        return result.unusable
    }
}
