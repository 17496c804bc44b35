/// The two formats of the kernel's sync messages (`net.ipv4.vs.sync_version`).
public enum SyncProtocolVersion: UInt8, Hashable, Sendable, CaseIterable {
    /// The old format: 4-byte header, IPv4 only, no timeout, fwmark or persistence data.
    case v0 = 0
    /// The current format: 8-byte header, IPv4 and IPv6 entries with options (the kernel's default).
    case v1 = 1
}

/// One sync message: the UDP payload the kernel's master sync thread sends.
public struct SyncMessage: Hashable, Sendable {
    /// The wire format.
    public var version: SyncProtocolVersion
    /// The sync ID (8 bits on the wire); a backup with a non-zero sync ID drops messages with another.
    public var syncID: UInt8
    /// The entries, in wire order.
    public var connections: [SyncConnection]

    /// Creates a message.
    public init(version: SyncProtocolVersion, syncID: UInt8, connections: [SyncConnection]) {
        self.version = version
        self.syncID = syncID
        self.connections = connections
    }
}

/// Fixed sizes and field offsets of the kernel's sync structures, each named once here for the encoder, the
/// decoder and the writer. Offsets are in bytes from the start of their structure (a message's header, or one
/// entry); multi-byte fields are big-endian unless said otherwise.
///
/// The constants are inlinable so that they fold into the hot paths of other modules as literals would.
public enum SyncWireLayout {
    /// `sizeof(struct ip_vs_sync_mesg)`: the version 1 header (``Header/length``).
    @inlinable public static var v1HeaderLength: Int { Header.length }
    /// `sizeof(struct ip_vs_sync_mesg_v0)`: the version 0 header, also the shortest message the kernel reads
    /// (``HeaderV0/length``).
    @inlinable public static var v0HeaderLength: Int { HeaderV0.length }
    /// `sizeof(struct ip_vs_sync_v4)` (``ConnectionV4/length``).
    @inlinable public static var v1IPv4EntryLength: Int { ConnectionV4.length }
    /// `sizeof(struct ip_vs_sync_v6)` (``ConnectionV6/length``).
    @inlinable public static var v1IPv6EntryLength: Int { ConnectionV6.length }
    /// `SIMPLE_CONN_SIZE`: a version 0 entry without sequence options (``ConnectionV0/length``).
    @inlinable public static var v0EntryLength: Int { ConnectionV0.length }
    /// `FULL_CONN_SIZE`: a version 0 entry with sequence options (``ConnectionV0/lengthWithSequence``).
    @inlinable public static var v0EntryWithSequenceLength: Int { ConnectionV0.lengthWithSequence }
    /// `sizeof(struct ip_vs_sync_conn_options)`: the SEQ_DATA payload (``SequenceData/length``).
    @inlinable public static var sequenceOptionsLength: Int { SequenceData.length }
    /// The largest entry size the 12-bit `ver_size` field can hold (``Connection/sizeMask``).
    @inlinable public static var maximumEntryLength: Int { Int(Connection.sizeMask) }
    /// The master's default `sync_maxlen` for IPv4 multicast (MTU 1500 − 20 − 8).
    public static let defaultMaximumMessageLength = 1472

    /// `IPVS_OPT_SEQ_DATA` (``Option/sequenceData``).
    @inlinable public static var optionSequenceData: UInt8 { Option.sequenceData }
    /// `IPVS_OPT_PE_DATA` (``Option/persistenceData``).
    @inlinable public static var optionPersistenceData: UInt8 { Option.persistenceData }
    /// `IPVS_OPT_PE_NAME` (``Option/persistenceName``).
    @inlinable public static var optionPersistenceName: UInt8 { Option.persistenceName }
    /// `IPVS_OPT_F_PARAM` (``Option/optionalBit``).
    @inlinable public static var optionalOptionBit: UInt8 { Option.optionalBit }

    /// Version 1 entries start on 4-byte boundaries: the master pads each entry but the last with zero bytes.
    @inlinable public static var entryAlignment: Int { 4 }

    /// `offset` rounded up to the next entry boundary (``entryAlignment``).
    @inlinable @inline(__always)
    public static func aligned(_ offset: Int) -> Int { (offset + entryAlignment - 1) & ~(entryAlignment - 1) }

    /// `struct ip_vs_sync_mesg`: the version 1 header.
    public enum Header {
        /// `reserved` (1 byte): 0 in version 1. It is version 0's `nr_conns`, so a version 0 receiver sees no
        /// entries.
        @inlinable public static var reserved: Int { 0 }
        /// `syncid` (1 byte), at the same place in both versions.
        @inlinable public static var syncID: Int { 1 }
        /// `size` (2 bytes): the whole message's length, header included, at the same place in both versions.
        @inlinable public static var size: Int { 2 }
        /// `nr_conns` (1 byte): the number of entries.
        @inlinable public static var count: Int { 4 }
        /// `version` (1 byte): `SYNC_PROTO_VER`, 1.
        @inlinable public static var version: Int { 5 }
        /// `spare` (2 bytes): 0.
        @inlinable public static var spare: Int { 6 }
        /// The header's length: the first entry starts here.
        @inlinable public static var length: Int { 8 }
    }

    /// `struct ip_vs_sync_mesg_v0`: the version 0 header.
    public enum HeaderV0 {
        /// `nr_conns` (1 byte): the number of entries.
        @inlinable public static var count: Int { 0 }
        /// `syncid` (1 byte).
        @inlinable public static var syncID: Int { Header.syncID }
        /// `size` (2 bytes): the whole message's length, header included.
        @inlinable public static var size: Int { Header.size }
        /// The header's length: the first entry starts here.
        @inlinable public static var length: Int { 4 }
    }

    /// The fields both version 1 entries (`struct ip_vs_sync_v4`, `struct ip_vs_sync_v6`) share, before their
    /// addresses.
    public enum Connection {
        /// `type` (1 byte): ``typeIPv4`` or ``typeIPv6``.
        @inlinable public static var type: Int { 0 }
        /// `protocol` (1 byte): `IPPROTO_*`.
        @inlinable public static var `protocol`: Int { 1 }
        /// `ver_size` (2 bytes): the entry format's version (``versionShift``) and the entry's size, options
        /// included, padding not (``sizeMask``).
        @inlinable public static var versionAndSize: Int { 2 }
        /// `flags` (4 bytes).
        @inlinable public static var flags: Int { 4 }
        /// `state` (2 bytes).
        @inlinable public static var state: Int { 8 }
        /// `cport` (2 bytes).
        @inlinable public static var clientPort: Int { 10 }
        /// `vport` (2 bytes).
        @inlinable public static var virtualPort: Int { 12 }
        /// `dport` (2 bytes).
        @inlinable public static var destinationPort: Int { 14 }
        /// `fwmark` (4 bytes).
        @inlinable public static var fwmark: Int { 16 }
        /// `timeout` (4 bytes): seconds.
        @inlinable public static var timeout: Int { 20 }
        /// The first address (the client's); each version places its three addresses from here.
        @inlinable public static var addresses: Int { 24 }

        /// `type` of an IPv4 entry.
        @inlinable public static var typeIPv4: UInt8 { 0 }
        /// `STYPE_F_INET6`: the `type` bit of an IPv6 entry.
        @inlinable public static var typeIPv6: UInt8 { 1 }
        /// `SVER_SHIFT`: the entry format's version is `ver_size >> versionShift` (0 is the only one).
        @inlinable public static var versionShift: UInt16 { 12 }
        /// `SVER_MASK`: the entry's size is `ver_size & sizeMask`.
        @inlinable public static var sizeMask: UInt16 { 0x0fff }
    }

    /// `struct ip_vs_sync_v4`: a version 1 IPv4 entry (fields before the addresses in ``Connection``).
    public enum ConnectionV4 {
        /// The length of each address.
        @inlinable public static var addressLength: Int { 4 }
        /// `caddr`.
        @inlinable public static var clientAddress: Int { Connection.addresses }
        /// `vaddr` (a firewall-mark template's mark).
        @inlinable public static var virtualAddress: Int { clientAddress + addressLength }
        /// `daddr`.
        @inlinable public static var destinationAddress: Int { virtualAddress + addressLength }
        /// The fixed part's length: options, if any, start here.
        @inlinable public static var length: Int { destinationAddress + addressLength }
    }

    /// `struct ip_vs_sync_v6`: a version 1 IPv6 entry (fields before the addresses in ``Connection``).
    public enum ConnectionV6 {
        /// The length of each address.
        @inlinable public static var addressLength: Int { 16 }
        /// Where an address's low 8 bytes start, from the address's start: each is read and written as two
        /// big-endian 8-byte halves, high first.
        @inlinable public static var lowHalf: Int { 8 }
        /// `caddr`.
        @inlinable public static var clientAddress: Int { Connection.addresses }
        /// `vaddr` (a firewall-mark template's mark).
        @inlinable public static var virtualAddress: Int { clientAddress + addressLength }
        /// `daddr`.
        @inlinable public static var destinationAddress: Int { virtualAddress + addressLength }
        /// The fixed part's length: options, if any, start here.
        @inlinable public static var length: Int { destinationAddress + addressLength }
    }

    /// `struct ip_vs_sync_conn_v0`: a version 0 entry (IPv4 only).
    public enum ConnectionV0 {
        /// `reserved` (1 byte): 0.
        @inlinable public static var reserved: Int { 0 }
        /// `protocol` (1 byte).
        @inlinable public static var `protocol`: Int { 1 }
        /// `cport` (2 bytes).
        @inlinable public static var clientPort: Int { 2 }
        /// `vport` (2 bytes).
        @inlinable public static var virtualPort: Int { 4 }
        /// `dport` (2 bytes).
        @inlinable public static var destinationPort: Int { 6 }
        /// `caddr` (4 bytes).
        @inlinable public static var clientAddress: Int { 8 }
        /// `vaddr` (4 bytes).
        @inlinable public static var virtualAddress: Int { 12 }
        /// `daddr` (4 bytes).
        @inlinable public static var destinationAddress: Int { 16 }
        /// `flags` (2 bytes): the low 16 bits of the connection's flags.
        @inlinable public static var flags: Int { 20 }
        /// `state` (2 bytes).
        @inlinable public static var state: Int { 22 }
        /// `SIMPLE_CONN_SIZE`: the entry without options; the options block, if any, starts here.
        @inlinable public static var length: Int { 24 }
        /// `FULL_CONN_SIZE`: the entry with its options block (``SequenceData``, in the master's host byte order),
        /// present when the flags have sequence bits.
        @inlinable public static var lengthWithSequence: Int { length + SequenceData.length }
    }

    /// A version 1 option: a type byte, a length byte, then that many bytes of payload (`IPVS_OPT_*`).
    public enum Option {
        /// The type (1 byte).
        @inlinable public static var type: Int { 0 }
        /// The payload's length (1 byte).
        @inlinable public static var length: Int { 1 }
        /// The header's length: the payload starts here.
        @inlinable public static var headerLength: Int { 2 }

        /// `IPVS_OPT_SEQ_DATA`: ``SequenceData``, in network byte order.
        @inlinable public static var sequenceData: UInt8 { 1 }
        /// `IPVS_OPT_PE_DATA`: persistence-engine data.
        @inlinable public static var persistenceData: UInt8 { 2 }
        /// `IPVS_OPT_PE_NAME`: the persistence engine's name.
        @inlinable public static var persistenceName: UInt8 { 3 }
        /// `IPVS_OPT_F_PARAM`: marks an option the receiver may ignore if it does not know it.
        @inlinable public static var optionalBit: UInt8 { 0x40 }
    }

    /// `struct ip_vs_sync_conn_options`: the TCP sequence adjustments, six 4-byte words (version 1's SEQ_DATA
    /// payload, version 0's options block).
    public enum SequenceData {
        /// `in_seq`: the inbound adjustment's three words (`init_seq`, `delta`, `previous_delta`).
        @inlinable public static var inbound: Int { 0 }
        /// `out_seq`: the outbound adjustment's three words.
        @inlinable public static var outbound: Int { 12 }
        /// `init_seq`, from the start of an adjustment.
        @inlinable public static var initialSequence: Int { 0 }
        /// `delta`, from the start of an adjustment.
        @inlinable public static var delta: Int { 4 }
        /// `previous_delta`, from the start of an adjustment.
        @inlinable public static var previousDelta: Int { 8 }
        /// The payload's length.
        @inlinable public static var length: Int { 24 }
    }
}
