import Foundation
import Logging
import Metrics
import PeerTransport

/// Links made with a certificate out of its validity window: adverts only.
///
/// A peer whose certificate is signed by our CA for a configured node name and fails only on its dates is still that
/// node (it holds the key our CA certified for it): its links are kept so the election keeps hearing it — refusing
/// them would let each director find the other silent and both go active — but they carry adverts only, never the
/// mirror stream, and every one is logged as an error with `lvsync_peer_certificate_invalid{peer}` at 1. See the
/// Failover README, "Certificates out of their validity window".
extension DirectorService {
    /// Whether the link with `peer` is degraded (its certificate, or this node's, out of its validity window); logs
    /// it, counts it (`lvsync_peer_links_degraded_total{reason}`) and sets `lvsync_peer_certificate_invalid{peer}` (1
    /// when the peer's certificate is the one at fault, 0 when a link with a valid one opens).
    func isDegraded(_ peer: AuthenticatedPeer) -> Bool {
        let ownOutOfWindow = tls.current.identity.isOutOfWindow(at: clock())
        Gauge(label: "lvsync_peer_certificate_invalid", dimensions: [("peer", peer.name)])
            .record(peer.certificateFault == nil ? 0 : 1)
        if let fault = peer.certificateFault {
            counters.degraded(fault.reason)
            logger.error(
                "peer certificate out of its validity window: the link carries adverts only, no mirroring; renew it",
                metadata: ["peer": "\(peer.name)", "reason": "\(fault.reason)", "error": "\(fault)"]
            )
        }
        if ownOutOfWindow {
            counters.degraded("own_certificate")
            logger.error(
                "this node's certificate is out of its validity window: the link carries adverts only; renew it",
                metadata: ["peer": "\(peer.name)"]
            )
        }
        return peer.certificateFault != nil || ownOutOfWindow
    }

    /// Returns when a degraded link made with the TLS material of `generation` should be made again: at once when
    /// this node's material was replaced since (a reload with renewed files), and, if `periodic`, after
    /// ``Configuration/degradedRecheckInterval`` (a peer that renewed, a certificate that became valid with time).
    /// Only the dialling side is periodic: it re-makes its link before it drops the old one.
    func untilDegradedRecheck(since generation: Int, periodic: Bool) async {
        let deadline = ContinuousClock.now + configuration.degradedRecheckInterval
        while !Task.isCancelled, tls.generation == generation, !periodic || ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
