import SyncWire

/// Entries used across the tests, one of each kind the kernel sends.
enum Sample {
    static func v4(_ text: String) -> IPAddress { .v4(IPv4Address(text)!) }
    static func v6(_ text: String) -> IPAddress { .v6(IPv6Address(text)!) }

    /// The example of research/kernel-ipvs.md §3.4: TCP ESTABLISHED DR, 192.0.2.10:40000 → 198.51.100.1:80 →
    /// 10.0.0.11:80, flags 0x83, timeout 900 s.
    static let tcpDirectRoute = SyncConnection(
        ipProtocol: .tcp,
        client: Endpoint(v4("192.0.2.10"), 40000),
        virtual: Endpoint(v4("198.51.100.1"), 80),
        destination: Endpoint(v4("10.0.0.11"), 80),
        flags: ConnectionFlags(rawValue: 0x83),
        state: .tcpEstablished,
        timeout: 900,
        fwmark: 0
    )

    static let udpNAT = SyncConnection(
        ipProtocol: .udp,
        client: Endpoint(v4("10.0.0.10"), 53000),
        virtual: Endpoint(v4("10.0.0.100"), 53),
        destination: Endpoint(v4("10.0.0.21"), 53),
        flags: [],
        state: ConnectionState(rawValue: 0),
        timeout: 300,
        fwmark: 0
    )

    static let sipTemplate = SyncConnection(
        ipProtocol: .udp,
        client: Endpoint(v4("10.0.0.10"), 0),
        virtual: Endpoint(v4("10.0.0.100"), 5060),
        destination: Endpoint(v4("10.0.0.22"), 5060),
        flags: [.template, ConnectionFlags(rawValue: 3)],
        state: .templateNone,
        timeout: 60,
        fwmark: 0,
        persistence: PersistenceData(engine: "sip", data: Array("call-1-a84b4c76e66710@client.example".utf8))
    )

    static let fwmarkTemplate = SyncConnection(
        ipProtocol: .ip,
        client: Endpoint(v4("10.0.0.10"), 0),
        virtual: Endpoint(v4("0.0.0.7"), 0),
        destination: Endpoint(v4("10.0.0.21"), 0),
        flags: [.template, ConnectionFlags(rawValue: 3)],
        state: .templateNone,
        timeout: 300,
        fwmark: 7
    )

    static let tcp6NAT = SyncConnection(
        ipProtocol: .tcp,
        client: Endpoint(v6("fd00::10"), 41000),
        virtual: Endpoint(v6("fd00::100"), 443),
        destination: Endpoint(v6("fd00::22"), 443),
        flags: [],
        state: .tcpEstablished,
        timeout: 900,
        fwmark: 0
    )

    static let tcpWithSequence = SyncConnection(
        ipProtocol: .tcp,
        client: Endpoint(v4("10.0.0.10"), 40001),
        virtual: Endpoint(v4("10.0.0.100"), 21),
        destination: Endpoint(v4("10.0.0.21"), 21),
        flags: [.inSequence, .outSequence],
        state: .tcpEstablished,
        timeout: 900,
        fwmark: 0,
        sequence: SequenceOptions(
            inbound: SequenceAdjustment(initialSequence: 0x1122_3344, delta: 5, previousDelta: 2),
            outbound: SequenceAdjustment(initialSequence: 0x5566_7788, delta: 0xffff_fffe, previousDelta: 0)
        )
    )

    static let sctp = SyncConnection(
        ipProtocol: .sctp,
        client: Endpoint(v4("10.0.0.10"), 36412),
        virtual: Endpoint(v4("10.0.0.100"), 36412),
        destination: Endpoint(v4("10.0.0.21"), 36412),
        flags: ConnectionFlags(rawValue: 0x83),
        state: ConnectionState(rawValue: 8),
        timeout: 900,
        fwmark: 0
    )

    static let all: [SyncConnection] = [
        tcpDirectRoute, udpNAT, sipTemplate, fwmarkTemplate, tcp6NAT, tcpWithSequence, sctp,
    ]

    static func hex(_ text: String) -> [UInt8] { try! HexMessages.bytes(fromHex: text) }

    static func v1(_ connections: [SyncConnection], syncID: UInt8 = 9) -> [UInt8] {
        try! SyncMessageEncoder.encode(SyncMessage(version: .v1, syncID: syncID, connections: connections))
    }
}
