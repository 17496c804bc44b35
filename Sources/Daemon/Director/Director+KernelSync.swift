import Config
import Failover
import HostNetwork
import IPVS
import Logging
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What the kernel holds for the sync, checked against what the role needs and repaired when it drifted: the kernel
/// sync daemon of the role (someone ran `ipvsadm --stop-daemon master`; it died), and the sync interface (deleted,
/// or deleted and created again: the kernel daemon, the capture and the injector stay bound to the old index, so
/// mirroring stops in silence while everything looks configured).
extension Director {
    /// The outcome of one check.
    public enum KernelSyncCheck: Equatable, Sendable {
        /// Nothing to do (or nothing wanted: the role is not decided).
        case inOrder
        /// Drift found and repaired; what was done.
        case repaired([String])
        /// The host could not tell, for its own reasons (no descriptor left): no verdict.
        case unknown(String)
        /// Drift found and not repaired: the reason.
        case failed(String)
    }

    /// The kernel sync daemons the role needs now: the master on an active director, the backup on a standby, both
    /// on a cluster member; nil: none (not decided, stopped).
    var wantedSyncDaemons: Set<SyncDaemon.Role>? {
        state.withLock { state in
            if state.members != nil { return [.master, .backup] }
            if let fixed = state.fixed { return fixed == .active ? [.master] : [.backup] }
            switch state.role {
            case .active: return [.master]
            case .standby, .fault: return [.backup]
            case .initialising, .stopped: return nil
            }
        }
    }

    /// A capture opened before this epoch is bound to an interface that is gone: open it again.
    public var syncEpoch: Int { state.withLock { $0.syncEpoch } }

    /// Records the sync interface's index as the daemon set it up (at start).
    public func noteSyncInterface(index: Int32) {
        state.withLock { $0.syncIndex = index }
    }

    /// Checks the sync interface's index and the kernel's sync daemons against the role, and repairs what drifted.
    public func checkKernelSync() -> KernelSyncCheck {
        plumbing.withLock { _ in
            guard let roles = wantedSyncDaemons else { return .inOrder }
            let index: Int32?
            switch ports.syncInterfaceIndex() {
            case .success(let current): index = current
            case .failure(let error) where error.ownTrouble: return .unknown("\(error)")
            case .failure(let error): return .failed("cannot read the sync interface: \(error)")
            }
            do {
                if index == nil || index != state.withLock({ $0.syncIndex }) {
                    let was = state.withLock { $0.syncIndex }
                    try replumb(roles)
                    let cause = index == nil ? "the sync interface was missing" : "the sync interface was re-created"
                    return .repaired(["\(cause) (index \(was.map(String.init) ?? "none") → \(syncIndexText))"])
                }
                guard try !ports.kernel.runsAsWanted(roles) else { return .inOrder }
                try ports.kernel.run(roles)
                Counter(label: "lvsync_kernel_sync_repairs_total", dimensions: [("what", "daemon")]).increment()
                let names = roles.map(\.description).sorted().joined(separator: " and ")
                let was = roles.count == 1 ? "daemon was" : "daemons were"
                return .repaired(["the kernel \(names) sync \(was) not running as lvsync set it: started again"])
            } catch {
                return .failed("\(error)")
            }
        }
    }

    /// The capture failed in a way that says the interface went (`ENETDOWN`, `ENODEV`, `ENXIO`): repairs the sync
    /// plumbing unless a check already did since `epoch`. Called from the capture thread.
    /// - Throws: when the interface cannot be set up again.
    public func repairAfterCaptureFailure(seenInEpoch epoch: Int) throws {
        try plumbing.withLock { _ throws in
            guard state.withLock({ $0.syncEpoch }) == epoch, let roles = wantedSyncDaemons else { return }
            try replumb(roles)
        }
    }

    private var syncIndexText: String { state.withLock { $0.syncIndex.map(String.init) ?? "none" } }

    /// The interface set up again, the role's kernel daemon restarted on it, the injector opened on it; the capture
    /// follows the epoch. Called with `plumbing` held.
    private func replumb(_ roles: Set<SyncDaemon.Role>) throws {
        let index = try ports.prepareSyncInterface()
        try ports.kernel.restart(roles)
        try state.withLock { $0.injector }?.reopen()
        state.withLock {
            $0.syncIndex = index
            $0.syncEpoch += 1
        }
        Counter(label: "lvsync_kernel_sync_repairs_total", dimensions: [("what", "interface")]).increment()
        logger.warning(
            "the sync interface was set up again: kernel sync daemons restarted on it",
            metadata: ["index": "\(index)", "daemons": "\(roles.map(\.description).sorted())"]
        )
    }

    /// Whether a capture error means the sync interface went (and a repair is the answer).
    public static func meansInterfaceGone(_ error: any Error) -> Bool {
        guard let error = error as? HostNetworkError, let errno = error.errno else { return false }
        return [ENETDOWN, ENODEV, ENXIO].contains(errno)
    }
}
