/// An IPv4 address, held as the 32-bit number whose big-endian bytes are the address (`10.0.0.1` is `0x0A00_0001`).
public struct IPv4Address: Hashable, Sendable, Comparable {
    /// The address as a number in host order: the first dotted byte is the most significant.
    public var value: UInt32

    /// Creates an address from its numeric value (`0x0A00_0001` is `10.0.0.1`).
    @inlinable
    public init(_ value: UInt32) { self.value = value }

    /// Creates an address from its four bytes in network order.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text such as `10.0.0.1`; returns nil for anything else.
    public init?(_ text: some StringProtocol) {
        var value: UInt32 = 0
        var parts = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard part.count >= 1, part.count <= 3, let byte = UInt8(part), parts < 4 else { return nil }
            value = value << 8 | UInt32(byte)
            parts += 1
        }
        guard parts == 4 else { return nil }
        self.value = value
    }

    /// Whether this is a multicast group (224.0.0.0/4).
    public var isMulticast: Bool { value >> 28 == 0xe }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

extension IPv4Address: CustomStringConvertible {
    /// Dotted-quad text, e.g. `10.0.0.1`.
    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }
}

/// An IPv6 address, held as two 64-bit halves in host order (`high` holds the first eight bytes).
public struct IPv6Address: Hashable, Sendable, Comparable, BitwiseCopyable {
    /// The first eight bytes of the address, big-endian.
    public var high: UInt64
    /// The last eight bytes of the address, big-endian.
    public var low: UInt64

    /// Creates an address from its two halves.
    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an address from eight 16-bit groups, as written in text.
    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has eight groups")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(groups[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(groups[i]) }
        self.init(high: high, low: low)
    }

    /// The eight 16-bit groups of the address.
    public var groups: [UInt16] {
        (0..<8).map { i in
            let half = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> UInt64(48 - 16 * (i % 4)))
        }
    }

    /// Parses RFC 4291 text (`fd00::10`, `0:0:0:0:0:0:0:1`, `::ffff:10.0.0.1`); returns nil for anything else.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var halves = [text]
        if let gap = text.firstRange(of: "::") {
            halves = [String(text[..<gap.lowerBound]), String(text[gap.upperBound...])]
            guard halves[1].firstRange(of: "::") == nil, !halves[1].hasPrefix(":"), !halves[0].hasSuffix(":") else {
                return nil
            }
        }
        func parseGroups(_ part: String, allowDottedTail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var groups: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, field) in fields.enumerated() {
                if allowDottedTail, i == fields.count - 1, field.contains(".") {
                    guard let v4 = IPv4Address(field) else { return nil }
                    groups.append(UInt16(v4.value >> 16))
                    groups.append(UInt16(v4.value & 0xffff))
                    continue
                }
                guard (1...4).contains(field.count), let group = UInt16(field, radix: 16) else { return nil }
                groups.append(group)
            }
            return groups
        }
        if halves.count == 2 {
            guard let h = parseGroups(halves[0], allowDottedTail: false),
                let t = parseGroups(halves[1], allowDottedTail: true), h.count + t.count <= 7
            else { return nil }
            head = h
            tail = t
            self.init(groups: head + Array(repeating: 0, count: 8 - h.count - t.count) + tail)
        } else {
            guard let all = parseGroups(halves[0], allowDottedTail: true), all.count == 8 else { return nil }
            self.init(groups: all)
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}

extension IPv6Address: CustomStringConvertible {
    /// RFC 5952 text: lowercase, the longest run of two or more zero groups shortened to `::`.
    public var description: String {
        let groups = self.groups
        var bestStart = -1
        var bestLength = 1
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8, groups[j] == 0 { j += 1 }
                if j - i > bestLength {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// The address family: 4 or 6.
    public var family: AddressFamily {
        switch self {
        case .v4: .inet
        case .v6: .inet6
        }
    }

    /// Parses IPv4 dotted-quad or IPv6 text.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }
}

/// The address family of a connection entry.
public enum AddressFamily: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// IPv4 (`AF_INET`).
    case inet = 4
    /// IPv6 (`AF_INET6`).
    case inet6 = 6

    public var description: String { self == .inet ? "IPv4" : "IPv6" }
}

/// An address and a port: one end of a connection.
public struct Endpoint: Hashable, Sendable {
    /// The address.
    public var address: IPAddress
    /// The port in host order (0 for templates' client side and fwmark templates).
    public var port: UInt16

    /// Creates an endpoint.
    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `10.0.0.1:80` or `[fd00::1]:443`.
    public init?(_ text: some StringProtocol) {
        let text = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                let address = IPv6Address(text[text.index(after: text.startIndex)..<close]),
                text[close...].hasPrefix("]:"),
                let port = UInt16(text[text.index(close, offsetBy: 2)...])
            else { return nil }
            self.init(.v6(address), port)
        } else {
            guard let colon = text.lastIndex(of: ":"), let address = IPv4Address(text[..<colon]),
                let port = UInt16(text[text.index(after: colon)...])
            else { return nil }
            self.init(.v4(address), port)
        }
    }
}

extension Endpoint: CustomStringConvertible {
    /// `10.0.0.1:80` or `[fd00::1]:443`, the form `lvsync decode --json` prints.
    public var description: String {
        switch address {
        case .v4(let a): "\(a):\(port)"
        case .v6(let a): "[\(a)]:\(port)"
        }
    }
}
