import NIOCore

extension Optional where Wrapped == SocketAddress {
    /// The address as a peer is named in errors and logs: `192.0.2.1:7420`, `[2001:db8::1]:7420`.
    var peerDescription: String {
        guard let address = self else { return "(unknown address)" }
        switch address {
        case .v4:
            return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        case .v6:
            return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
        case .unixDomainSocket:
            return address.pathname ?? "(unix socket)"
        }
    }
}
