import SyncWire

/// One connection in the mirror table: the entry's fixed part as the wire holds it (``SyncEntry``), its expiry
/// deadline and its key's hash; 88 bytes. Rare data (persistence-engine data, sequence adjustments, unknown
/// options) lives beside the records in ``MirrorTable``'s side table.
struct MirrorRecord {
    var entry: SyncEntry
    /// Whole seconds since the table's time origin when the entry expires.
    var deadline: UInt32
    /// The key's hash, kept so that resizing and deletion need not rehash.
    var hash: UInt32
    /// ``Kind`` bits.
    var kind: UInt8

    /// Bits of ``kind``.
    enum Kind {
        /// The entry came from version 1 (its timeout and fwmark are real, not absent).
        static let hasV1Fields: UInt8 = 1
        /// The entry has a side-table record.
        static let hasExtras: UInt8 = 2
    }

    /// Whether the record has the key fields of `key` (persistence data is compared by the table).
    @inline(__always)
    func hasKey(of key: MirrorKey) -> Bool {
        let e = entry
        return e.isIPv6 == key.isIPv6 && e.isTemplate == key.isTemplate && e.ipProtocol == key.ipProtocol
            && e.clientPort == key.clientPort && e.virtualPort == key.virtualPort && e.clientAddress == key.client
            && e.virtualAddress == key.virtual
    }

    func connection(extras: MirrorExtras?) -> SyncConnection {
        SyncConnection(
            entry,
            version: kind & Kind.hasV1Fields != 0 ? .v1 : .v0,
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

    /// The persistence data that is part of a template's key, if any.
    var keyData: [UInt8]? { persistence.flatMap { $0.data.isEmpty ? nil : $0.data } }
}

/// The fields the kernel looks a connection up by: protocol, client, virtual, and whether it is a template
/// (for templates with persistence-engine data, the data too: `ip_vs_ct_in_get()` with the engine's `ct_match`).
struct MirrorKey {
    var ipProtocol: IPProtocol
    var isIPv6: Bool
    var isTemplate: Bool
    var client: IPv6Address
    var clientPort: UInt16
    var virtual: IPv6Address
    var virtualPort: UInt16
    var persistenceData: [UInt8]?

    init(_ e: SyncEntry, extras: MirrorExtras?) {
        ipProtocol = e.ipProtocol
        isIPv6 = e.isIPv6
        isTemplate = e.isTemplate
        client = e.clientAddress
        clientPort = e.clientPort
        virtual = e.virtualAddress
        virtualPort = e.virtualPort
        persistenceData = e.isTemplate ? extras?.keyData : nil
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
        let kind = UInt64(isIPv6 ? 1 : 0) | UInt64(isTemplate ? 2 : 0)
        let ports = UInt64(clientPort) << 32 | UInt64(virtualPort) << 16 | UInt64(ipProtocol.rawValue) << 8 | kind
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
