/// The protocol state of a connection entry, a number whose meaning depends on the protocol.
public struct ConnectionState: RawRepresentable, Hashable, Sendable, BitwiseCopyable {
    public var rawValue: UInt16

    @inlinable
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// TCP `ESTABLISHED` (1), also SCTP state 8 is `ESTABLISHED`: see ``name(protocol:template:)``.
    public static let tcpEstablished = ConnectionState(rawValue: 1)
    /// Template `NONE` (0).
    public static let templateNone = ConnectionState(rawValue: 0)
    /// Template `ASSURED` (1).
    public static let templateAssured = ConnectionState(rawValue: 1)

    static let tcpNames = [
        "NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
        "LISTEN", "SYNACK",
    ]
    static let sctpNames = [
        "NONE", "INIT1", "INIT", "C-SENT", "C-REPLIED", "C-WAIT", "COOKIE", "C-ECHOED", "ESTABLISHED", "S-SENT",
        "S-RECEIVED", "S-ACK-SENT", "REJECTED", "CLOSED",
    ]
    static let templateNames = ["NONE", "ASSURED"]

    /// The name `/proc/net/ip_vs_conn` prints for this state, as the kernel's `ip_vs_state_name()` picks it.
    public func name(protocol proto: IPProtocol, template: Bool) -> String {
        let i = Int(rawValue)
        if template { return i < Self.templateNames.count ? Self.templateNames[i] : "ERR!" }
        switch proto {
        case .tcp: return i < Self.tcpNames.count ? Self.tcpNames[i] : "ERR!"
        case .udp: return i == 0 ? "UDP" : "ERR!"
        case .sctp: return i < Self.sctpNames.count ? Self.sctpNames[i] : "ERR!"
        case .ip: return "NONE"
        default: return "ERR!"
        }
    }

    /// Parses a state name as `/proc/net/ip_vs_conn` prints it, for the given protocol and kind of entry.
    public init?(name: some StringProtocol, protocol proto: IPProtocol, template: Bool) {
        let table: [String]
        if template {
            table = Self.templateNames
        } else {
            switch proto {
            case .tcp: table = Self.tcpNames
            case .udp: table = ["UDP"]
            case .sctp: table = Self.sctpNames
            case .ip: table = ["NONE"]
            default: return nil
            }
        }
        guard let i = table.firstIndex(where: { $0 == name }) else { return nil }
        self.init(rawValue: UInt16(i))
    }
}
