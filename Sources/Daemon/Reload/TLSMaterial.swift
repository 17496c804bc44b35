import Config
import Foundation
import PeerTransport

/// The peer link's TLS material made from the `tls` section's files, checked as a whole: the files read, the key
/// private to its owner and matching the certificate, the certificate valid now and signed by the CA, and naming this
/// node. The same checks at start and at each reload.
enum TLSMaterial {
    /// The material for `node` from `files` at `now`; a peer whose certificate is valid but for its dates is accepted
    /// on a degraded, adverts-only link (see the Failover README).
    /// - Throws: ``DaemonError`` naming the file and what is wrong with it.
    static func load(_ files: PeeringConfig.TLSFiles, node: String, now: Date) throws(DaemonError) -> PeerTLS {
        let identity: NodeIdentity
        let tls: PeerTLS
        do {
            identity = try NodeIdentity.load(
                certificateFile: files.certificate,
                privateKeyFile: files.key,
                caFile: files.ca,
                now: now
            )
            tls = try PeerTLS(identity: identity, outOfWindowPeers: .acceptDegraded)
        } catch {
            throw DaemonError("tls: \(error)")
        }
        guard identity.name == node else {
            throw DaemonError("tls: node is '\(node)' but \(files.certificate) names '\(identity.name)'")
        }
        return tls
    }
}
