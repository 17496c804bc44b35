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
///
/// Real servers are added in the order the desired service lists them. For the order-sensitive schedulers (`mh`,
/// `sh`: their lookup tables are built walking the kernel's list of real servers, and ties go to the first), the
/// kernel's list must come out the same on every director whose file lists the same servers in the same order,
/// whatever each director's history: the kernel puts each new real server at the head of its list, so the list is
/// the desired order reversed. A server added at the end of the desired list lands at the head with no other
/// change; one inserted elsewhere (or restored after a health removal) needs the servers listed after it deleted
/// and added again after it (``ServerOrder``), which the plan does, each delete right before its add.
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
            let readd =
                target.service.isOrderSensitive ? ServerOrder.readditions(existing: existing, target: target) : []
            for server in target.realServers {
                if readd.contains(server.endpoint) {
                    additions += [.deleteRealServer(server.endpoint, key), .addRealServer(server, key)]
                } else if let old = existingServers[server.endpoint] {
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

/// The order of a service's real servers in the kernel's list, for the order-sensitive schedulers.
public enum ServerOrder {
    /// The schedulers whose tables depend on the order of the kernel's list of real servers.
    public static let sensitiveSchedulers: Set<String> = ["mh", "sh"]

    /// The kernel list `target` asks for: its real servers reversed (the kernel adds each at the head).
    public static func kernelOrder(of target: DesiredService) -> [Endpoint] {
        target.realServers.map(\.endpoint).reversed()
    }

    /// The servers of `existing` (kernel order) that must be deleted and added again so that, with the servers
    /// `target` adds, the kernel's list comes out as ``kernelOrder(of:)``: those the kernel already holds that
    /// must end up ahead of a server added now, or out of order among themselves. The servers kept in place are
    /// the longest tail of the wanted list that the kernel already holds in that order.
    public static func readditions(existing: DesiredService, target: DesiredService) -> Set<Endpoint> {
        let wanted = kernelOrder(of: target)
        let wantedSet = Set(wanted)
        let held = existing.realServers.map(\.endpoint).filter { wantedSet.contains($0) }
        let heldSet = Set(held)
        // The longest tail of `wanted` whose servers the kernel holds, in the same relative order, at its end.
        var start = wanted.count
        var cursor = held.count
        while start > 0, cursor > 0, wanted[start - 1] == held[cursor - 1] {
            start -= 1
            cursor -= 1
        }
        // Every held server outside the kept tail moves.
        return heldSet.subtracting(wanted[start...])
    }

    /// Whether the kernel's list of `current` is the one `desired` asks for (same servers, same order).
    public static func isCanonical(current: DesiredService, desired: DesiredService) -> Bool {
        current.realServers.map(\.endpoint) == kernelOrder(of: desired)
    }
}

extension VirtualService {
    /// Whether the scheduler's table depends on the order of the kernel's list of real servers (`mh`, `sh`).
    public var isOrderSensitive: Bool { ServerOrder.sensitiveSchedulers.contains(scheduler) }
}
