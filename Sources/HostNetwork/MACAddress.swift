/// An Ethernet (EUI-48) address.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// The six bytes, in wire order.
    public var bytes: [UInt8]

    /// Creates an address from six bytes.
    /// - Precondition: `bytes` has six elements.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 6, "a MAC address has six bytes")
        self.bytes = bytes
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (upper or lower case); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        self.bytes = bytes
    }

    /// The broadcast address, `ff:ff:ff:ff:ff:ff`.
    public static let broadcast = MACAddress(bytes: [UInt8](repeating: 0xff, count: 6))

    /// Lowercase, colon-separated: `aa:bb:cc:dd:ee:ff`.
    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}
