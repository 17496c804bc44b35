import SyncWire

/// An address a director takes over on failover (a VIP): an IPv4 or IPv6 address with its prefix length, on a named
/// interface. Two values are equal when interface, address and prefix length are.
public struct VirtualAddress: Hashable, Sendable, CustomStringConvertible {
    /// The interface that carries the address, e.g. `eth0`.
    public var interface: String
    /// The address.
    public var address: IPAddress
    /// The prefix length: 0–32 for IPv4, 0–128 for IPv6.
    public var prefixLength: UInt8

    /// Creates a value; without `prefixLength`, a host prefix: /32 for IPv4, /128 for IPv6.
    /// - Precondition: `prefixLength` is at most the address's bit length.
    public init(interface: String, address: IPAddress, prefixLength: UInt8? = nil) {
        let length = prefixLength ?? address.bitLength
        precondition(length <= address.bitLength, "prefix /\(length) is longer than the address \(address)")
        self.interface = interface
        self.address = address
        self.prefixLength = length
    }

    /// Parses `10.0.0.100`, `10.0.0.1/24`, `fd00::100` or `fd00::100/64` (no prefix: a host prefix); nil for
    /// anything else, including a prefix longer than the address or not written in plain decimal.
    public init?(interface: String, _ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        var length: UInt8?
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...3).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt8(digits), value <= address.bitLength
            else { return nil }
            length = value
        }
        self.init(interface: interface, address: address, prefixLength: length)
    }

    /// The address with its prefix length, e.g. `10.0.0.100/32`.
    public var cidr: String { "\(address)/\(prefixLength)" }

    /// `10.0.0.100/32 on eth0`.
    public var description: String { "\(cidr) on \(interface)" }
}

extension IPAddress {
    /// 32 or 128.
    var bitLength: UInt8 { family == .inet ? 32 : 128 }
}
