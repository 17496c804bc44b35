import SyncWire

/// One connection in the mirror table, packed into 80 bytes: the three addresses as 16-byte values whatever the
/// family, the ports, the wire fields, the expiry deadline and the key's hash. Rare data (persistence-engine data,
/// sequence adjustments, unknown options) lives beside the records in ``MirrorTable``'s side table.
struct MirrorRecord {
    var client: IPv6Address
    var virtual: IPv6Address
    var destination: IPv6Address
    var clientPort: UInt16
    var virtualPort: UInt16
    var destinationPort: UInt16
    var ipProtocol: UInt8
    /// ``Kind`` bits.
    var kind: UInt8
    var flags: UInt32
    var state: UInt16
    var timeout: UInt32
    var fwmark: UInt32
    /// Whole seconds since the table's time origin when the entry expires.
    var deadline: UInt32
    /// The key's hash, kept so that resizing and deletion need not rehash.
    var hash: UInt32

    /// Bits of ``kind``.
    enum Kind {
        static let ipv6: UInt8 = 1
        static let template: UInt8 = 2
        /// The entry came from version 1 (it has a timeout and a fwmark).
        static let hasV1Fields: UInt8 = 4
        /// The entry has a side-table record.
        static let hasExtras: UInt8 = 8
        /// The bits that are part of the key.
        static let keyBits: UInt8 = ipv6 | template
    }

    init(_ c: SyncConnection, deadline: UInt32, hash: UInt32) {
        client = Self.wide(c.client.address)
        virtual = Self.wide(c.virtual.address)
        destination = Self.wide(c.destination.address)
        clientPort = c.client.port
        virtualPort = c.virtual.port
        destinationPort = c.destination.port
        ipProtocol = c.ipProtocol.rawValue
        var kind: UInt8 = 0
        if c.family == .inet6 { kind |= Kind.ipv6 }
        if c.isTemplate { kind |= Kind.template }
        if c.timeout != nil || c.fwmark != nil { kind |= Kind.hasV1Fields }
        self.kind = kind
        flags = c.flags.rawValue
        state = c.state.rawValue
        timeout = c.timeout ?? 0
        fwmark = c.fwmark ?? 0
        self.deadline = deadline
        self.hash = hash
    }

    static func wide(_ address: IPAddress) -> IPv6Address {
        switch address {
        case .v4(let a): IPv6Address(high: 0, low: UInt64(a.value))
        case .v6(let a): a
        }
    }

    func narrow(_ address: IPv6Address) -> IPAddress {
        kind & Kind.ipv6 != 0 ? .v6(address) : .v4(IPv4Address(UInt32(truncatingIfNeeded: address.low)))
    }

    /// Whether the record has the key fields of `c` (persistence data is compared by the table).
    @inline(__always)
    func hasKey(of c: MirrorKey) -> Bool {
        kind & Kind.keyBits == c.kindBits && ipProtocol == c.ipProtocol && clientPort == c.clientPort
            && virtualPort == c.virtualPort && client == c.client && virtual == c.virtual
    }

    func connection(extras: MirrorExtras?) -> SyncConnection {
        SyncConnection(
            ipProtocol: IPProtocol(rawValue: ipProtocol),
            client: Endpoint(narrow(client), clientPort),
            virtual: Endpoint(narrow(virtual), virtualPort),
            destination: Endpoint(narrow(destination), destinationPort),
            flags: ConnectionFlags(rawValue: flags),
            state: ConnectionState(rawValue: state),
            timeout: kind & Kind.hasV1Fields != 0 ? timeout : nil,
            fwmark: kind & Kind.hasV1Fields != 0 ? fwmark : nil,
            sequence: extras?.sequence,
            persistence: extras?.persistence,
            unknownOptions: extras?.unknownOptions ?? []
        )
    }
}

/// The data few entries have, stored outside the fixed-size records.
struct MirrorExtras: Sendable {
    var sequence: SequenceOptions?
    var persistence: PersistenceData?
    var unknownOptions: [UnknownSyncOption]

    init?(_ c: SyncConnection) {
        guard c.sequence != nil || c.persistence != nil || !c.unknownOptions.isEmpty else { return nil }
        sequence = c.sequence
        persistence = c.persistence
        unknownOptions = c.unknownOptions
    }
}

/// The fields the kernel looks a connection up by: protocol, client, virtual, and whether it is a template
/// (for templates with persistence-engine data, the data too: `ip_vs_ct_in_get()` with the engine's `ct_match`).
struct MirrorKey {
    var ipProtocol: UInt8
    var kindBits: UInt8
    var client: IPv6Address
    var clientPort: UInt16
    var virtual: IPv6Address
    var virtualPort: UInt16
    var persistenceData: [UInt8]?

    init(_ c: SyncConnection) {
        ipProtocol = c.ipProtocol.rawValue
        kindBits = (c.family == .inet6 ? MirrorRecord.Kind.ipv6 : 0) | (c.isTemplate ? MirrorRecord.Kind.template : 0)
        client = MirrorRecord.wide(c.client.address)
        clientPort = c.client.port
        virtual = MirrorRecord.wide(c.virtual.address)
        virtualPort = c.virtual.port
        persistenceData = c.isTemplate ? c.persistence.flatMap { $0.data.isEmpty ? nil : $0.data } : nil
    }

    /// The key's hash under `seed`: a multiply-and-fold mix of the key's words (wyhash's mixing step). With a
    /// random seed per table, clients cannot aim collisions at it; it is several times faster than SipHash.
    func hash(seed: UInt64) -> UInt32 {
        @inline(__always) func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let product = a.multipliedFullWidth(by: b)
            return product.high ^ product.low
        }
        let k0: UInt64 = 0xa076_1d64_78bd_642f
        let k1: UInt64 = 0xe703_7ed1_a0b4_28db
        let ports = UInt64(clientPort) << 32 | UInt64(virtualPort) << 16 | UInt64(ipProtocol) << 8 | UInt64(kindBits)
        var h = mix(client.high ^ seed ^ k0, client.low ^ k1)
        h = mix(h ^ virtual.high ^ k1, virtual.low ^ ports ^ k0)
        if let persistenceData {
            var word: UInt64 = 0
            for (i, byte) in persistenceData.enumerated() {
                word = word << 8 | UInt64(byte)
                if i & 7 == 7 {
                    h = mix(h ^ word ^ k0, k1)
                    word = 0
                }
            }
            h = mix(h ^ word ^ k1, UInt64(persistenceData.count) ^ k0)
        }
        return UInt32(truncatingIfNeeded: mix(h ^ seed, k1))
    }
}
