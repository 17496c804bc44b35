import SyncWire

/// A fingerprint of what the order-sensitive schedulers (`mh`, `sh`) build their lookup tables from, as the kernel
/// holds it: each such service's key, scheduler and flags, and its real servers in the kernel's list order with
/// their weights. The kernel builds the table from exactly these (with fixed hash keys and its compile-time table
/// size), so two directors of the same kernel build whose fingerprints are equal schedule a new flow to the same
/// real server. Read from the kernel, never from the configuration: what `lvsync status` shows is what schedules.
///
/// One input the kernel does not report: `mh` gives a quiesced server (weight 0) the slots of its last non-zero
/// weight, and a server added at weight 0 none, so a server quiesced on one director and added quiesced on another
/// leave the fingerprints equal and the tables not.
public struct SchedulingFingerprint: Hashable, Sendable {
    /// One order-sensitive service.
    public struct Service: Hashable, Sendable {
        /// The service.
        public var key: ServiceKey
        /// Its scheduler.
        public var scheduler: String
        /// Its real servers in the kernel's list order.
        public var realServers: [Endpoint]
        /// The fingerprint of this service's table inputs: 16 hexadecimal digits.
        public var fingerprint: String
    }

    /// The order-sensitive services, by key.
    public var services: [Service]
    /// The fingerprint of all of them together (of nothing when there are none).
    public var fingerprint: String

    /// The fingerprint of the kernel's table `current` (``IPVSPlanner/current(of:)``).
    public init(_ current: [DesiredService]) {
        var all = FNV1a()
        services = current.filter(\.service.isOrderSensitive).sorted { $0.service.key < $1.service.key }.map {
            entry in
            let text = Self.canonicalText(entry)
            all.add(text)
            var one = FNV1a()
            one.add(text)
            return Service(
                key: entry.service.key,
                scheduler: entry.service.scheduler,
                realServers: entry.realServers.map(\.endpoint),
                fingerprint: one.hex
            )
        }
        fingerprint = all.hex
    }

    /// `tcp 10.0.0.100:80 mh flags 0x18; 10.0.1.3:80 weight 1; 10.0.1.2:80 weight 1;`
    static func canonicalText(_ entry: DesiredService) -> String {
        var text =
            "\(entry.service.key) \(entry.service.scheduler) flags 0x\(String(entry.service.flags.rawValue, radix: 16));"
        for server in entry.realServers { text += " \(server.endpoint) weight \(server.weight);" }
        return text + "\n"
    }
}

/// 64-bit FNV-1a: a fingerprint to compare, not a secret.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
