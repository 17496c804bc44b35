import Config
import IPVS
import Logging

/// Sets the IPVS sysctls a configuration's `kernel` section asks for (``KernelConfig``), at start and on a reload.
public enum KernelTunables {
    /// A sysctl the configuration changed.
    public struct Change: Hashable, Sendable, CustomStringConvertible {
        /// Which.
        public var name: IPVSSysctl
        /// The kernel's value before.
        public var from: Int
        /// The value now.
        public var to: Int

        public var description: String { "\(name) \(from) -> \(to)" }
    }

    /// Sets each configured sysctl that differs from the kernel's value; the others are left untouched. What
    /// changed is logged (`IPVS sysctls set`).
    /// - Returns: what changed (empty when the kernel already had the configuration's values).
    @discardableResult
    public static func apply(
        _ kernel: KernelConfig,
        to ipvs: any IPVSControl,
        logger: Logger
    ) throws(IPVSError) -> [Change] {
        var changes: [Change] = []
        for (name, value) in kernel.sysctls.sorted(by: { $0.key < $1.key }) {
            let now = try ipvs.sysctl(name)
            guard now != value else { continue }
            try ipvs.setSysctl(name, to: value)
            changes.append(Change(name: name, from: now, to: value))
        }
        if !changes.isEmpty {
            logger.notice("IPVS sysctls set", metadata: ["changes": "\(changes.map(\.description))"])
        }
        return changes
    }
}
