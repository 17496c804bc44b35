/// One announcement sent for a virtual address that moved to this host.
public struct Announcement: Hashable, Sendable, CustomStringConvertible {
    /// The kind of packet.
    public enum Kind: Hashable, Sendable, CustomStringConvertible {
        /// A gratuitous ARP request (IPv4): sender and target address the VIP, to the Ethernet broadcast.
        case gratuitousARP
        /// An unsolicited Neighbour Advertisement (IPv6) to ff02::1 with the Override flag.
        case unsolicitedNeighbourAdvertisement

        /// `gratuitous ARP` or `unsolicited NA`.
        public var description: String {
            switch self {
            case .gratuitousARP: "gratuitous ARP"
            case .unsolicitedNeighbourAdvertisement: "unsolicited NA"
            }
        }
    }

    /// The address announced, with its interface.
    public var address: VirtualAddress
    /// The link-layer address announced for it (the interface's).
    public var hardwareAddress: MACAddress
    /// The packet sent.
    public var kind: Kind

    /// Creates a record.
    public init(address: VirtualAddress, hardwareAddress: MACAddress, kind: Kind) {
        self.address = address
        self.hardwareAddress = hardwareAddress
        self.kind = kind
    }

    /// `eth0 10.0.0.100 is at aa:bb:cc:dd:ee:ff (gratuitous ARP)`.
    public var description: String {
        "\(address.interface) \(address.address) is at \(hardwareAddress) (\(kind))"
    }
}
