import SyncWire

/// A virtual service with the real servers it should have: one entry of a desired table.
public struct DesiredService: Hashable, Sendable {
    public var service: VirtualService
    public var realServers: [RealServer]

    /// Creates a desired service.
    public init(service: VirtualService, realServers: [RealServer]) {
        self.service = service
        self.realServers = realServers
    }
}

/// One change to the kernel's table.
public enum IPVSChange: Hashable, Sendable {
    case addService(VirtualService)
    /// A service's settings change; `from` is what the kernel has.
    case editService(VirtualService, from: VirtualService)
    case deleteService(ServiceKey)
    case addRealServer(RealServer, ServiceKey)
    /// A real server's settings change in place, so its connections stay; `from` is what the kernel has.
    case editRealServer(RealServer, ServiceKey, from: RealServer)
    case deleteRealServer(Endpoint, ServiceKey)
}

/// The fewest changes that turn the kernel's table into the desired one, in an order that never leaves a
/// service without real servers it keeps: new services and real servers first, edits next, removals last.
/// A real server whose settings change is edited, never deleted and re-added, so its live connections stay.
public enum IPVSPlanner {
    /// The changes from `current` (what the kernel lists) to `desired`.
    public static func plan(current: [DesiredService], desired: [DesiredService]) -> [IPVSChange] {
        var additions: [IPVSChange] = []
        var edits: [IPVSChange] = []
        var removals: [IPVSChange] = []
        let have = Dictionary(current.map { ($0.service.key, $0) }, uniquingKeysWith: { first, _ in first })
        let want = Dictionary(desired.map { ($0.service.key, $0) }, uniquingKeysWith: { first, _ in first })
        for target in desired.sorted(by: { $0.service.key < $1.service.key }) {
            let key = target.service.key
            guard let existing = have[key] else {
                additions.append(.addService(target.service))
                additions += target.realServers.map { .addRealServer($0, key) }
                continue
            }
            if existing.service != target.service { edits.append(.editService(target.service, from: existing.service)) }
            let existingServers = Dictionary(
                existing.realServers.map { ($0.endpoint, $0) },
                uniquingKeysWith: { first, _ in first }
            )
            let targetEndpoints = Set(target.realServers.map(\.endpoint))
            for server in target.realServers {
                if let old = existingServers[server.endpoint] {
                    if old != server { edits.append(.editRealServer(server, key, from: old)) }
                } else {
                    additions.append(.addRealServer(server, key))
                }
            }
            for old in existing.realServers where !targetEndpoints.contains(old.endpoint) {
                removals.append(.deleteRealServer(old.endpoint, key))
            }
        }
        for existing in current.sorted(by: { $0.service.key < $1.service.key }) where want[existing.service.key] == nil
        {
            removals.append(.deleteService(existing.service.key))
        }
        return additions + edits + removals
    }

    /// What the kernel holds now, as desired services (settings only, no counters).
    public static func current(of ipvs: any IPVSControl) throws(IPVSError) -> [DesiredService] {
        try ipvs.services().map { status throws(IPVSError) in
            DesiredService(
                service: status.service,
                realServers: try ipvs.realServers(of: status.service.key).map(\.server)
            )
        }
    }

    /// Applies the changes in order, stopping at the first the kernel refuses.
    public static func apply(_ changes: [IPVSChange], to ipvs: any IPVSControl) throws(IPVSError) {
        for change in changes {
            switch change {
            case .addService(let s): try ipvs.addService(s)
            case .editService(let s, _): try ipvs.editService(s)
            case .deleteService(let k): try ipvs.deleteService(k)
            case .addRealServer(let r, let k): try ipvs.addRealServer(r, to: k)
            case .editRealServer(let r, let k, _): try ipvs.editRealServer(r, in: k)
            case .deleteRealServer(let e, let k): try ipvs.deleteRealServer(e, from: k)
            }
        }
    }
}

extension IPVSChange: CustomStringConvertible {
    /// One line of a diff: `+ service tcp 10.0.0.100:80 (rr)`, `~ real server 10.0.0.21:80 in tcp 10.0.0.100:80:
    /// weight 1 -> 3`, `- service fwmark 7`.
    public var description: String {
        switch self {
        case .addService(let s): "+ service \(s.key) (\(s.summary))"
        case .editService(let s, let old): "~ service \(s.key): \(VirtualService.differences(old, s))"
        case .deleteService(let k): "- service \(k)"
        case .addRealServer(let r, let k): "+ real server \(r.endpoint) in \(k) (\(r.summary))"
        case .editRealServer(let r, let k, let old):
            "~ real server \(r.endpoint) in \(k): \(RealServer.differences(old, r))"
        case .deleteRealServer(let e, let k): "- real server \(e) in \(k)"
        }
    }
}

extension VirtualService {
    /// `rr, persistent 120 s, pe sip`.
    var summary: String {
        var parts = [scheduler]
        if flags.contains(.persistent) { parts.append("persistent \(persistenceTimeout) s") }
        if let persistenceEngine { parts.append("pe \(persistenceEngine)") }
        if flags.contains(.onePacket) { parts.append("one-packet") }
        return parts.joined(separator: ", ")
    }

    static func differences(_ a: Self, _ b: Self) -> String {
        var parts: [String] = []
        if a.scheduler != b.scheduler { parts.append("scheduler \(a.scheduler) -> \(b.scheduler)") }
        if a.flags != b.flags {
            parts.append("flags 0x\(String(a.flags.rawValue, radix: 16)) -> 0x\(String(b.flags.rawValue, radix: 16))")
        }
        if a.persistenceTimeout != b.persistenceTimeout {
            parts.append("persistence \(a.persistenceTimeout) s -> \(b.persistenceTimeout) s")
        }
        if a.netmask != b.netmask { parts.append("netmask \(a.netmask) -> \(b.netmask)") }
        if a.persistenceEngine != b.persistenceEngine {
            parts.append("pe \(a.persistenceEngine ?? "none") -> \(b.persistenceEngine ?? "none")")
        }
        return parts.joined(separator: ", ")
    }
}

extension RealServer {
    /// `Route, weight 1`.
    var summary: String {
        var text = "\(forwarding), weight \(weight)"
        if upperThreshold > 0 || lowerThreshold > 0 { text += ", thresholds \(lowerThreshold)-\(upperThreshold)" }
        if let tunnel { text += ", \(tunnel.type)" + (tunnel.port > 0 ? " port \(tunnel.port)" : "") }
        return text
    }

    static func differences(_ a: Self, _ b: Self) -> String {
        var parts: [String] = []
        if a.forwarding != b.forwarding { parts.append("forwarding \(a.forwarding) -> \(b.forwarding)") }
        if a.weight != b.weight { parts.append("weight \(a.weight) -> \(b.weight)") }
        if a.upperThreshold != b.upperThreshold || a.lowerThreshold != b.lowerThreshold {
            parts.append(
                "thresholds \(a.lowerThreshold)-\(a.upperThreshold) -> \(b.lowerThreshold)-\(b.upperThreshold)"
            )
        }
        if a.tunnel != b.tunnel { parts.append("tunnel changed") }
        return parts.joined(separator: ", ")
    }
}
