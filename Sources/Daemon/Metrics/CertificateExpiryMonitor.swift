import Foundation
import Logging
import Metrics
import PeerTransport
import ServiceLifecycle
import Synchronization

/// Watches the TLS material in use for the end of its validity: the gauge
/// `lvsync_tls_certificate_expiry_seconds{certificate="node"|"ca"}` (seconds left, negative once expired), and a
/// warning line with less than 30 days left, an error line with less than 7 and another the moment it expires, each
/// repeated once a day (``CertificateExpiry``'s rules). Checked at start, at each reload, every ``interval`` and
/// when a certificate's level is due to change (a node certificate that ends at 14:02:10 is reported expired then).
public final class CertificateExpiryMonitor: Service, Sendable {
    /// How often the material is checked while nothing else asks: an hour.
    public static let interval: Duration = .seconds(3_600)

    let store: PeerTLSStore
    let clock: @Sendable () -> Date
    let logger: Logger
    private let logged = Mutex<[String: (at: Date, level: CertificateExpiry.Level)]>([:])

    /// A monitor of `store`'s material, reading the time from `clock`.
    public init(store: PeerTLSStore, clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// The certificates checked: `node` (this node's) and `ca` (the CA it chains to), with their end of validity.
    var certificates: [(label: String, notValidAfter: Date)] {
        let identity = store.current.identity
        var certificates = [("node", identity.notValidAfter)]
        if let authority = identity.authorityNotValidAfter { certificates.append(("ca", authority)) }
        return certificates
    }

    /// Records the gauges and logs what is due now; returns the levels by certificate (for tests).
    @discardableResult
    public func check() -> [String: CertificateExpiry.Level] {
        let now = clock()
        var levels: [String: CertificateExpiry.Level] = [:]
        for (label, notValidAfter) in certificates {
            let seconds = CertificateExpiry.secondsLeft(notValidAfter: notValidAfter, now: now)
            Gauge(label: "lvsync_tls_certificate_expiry_seconds", dimensions: [("certificate", label)]).record(seconds)
            // The end of validity itself: an alert rule compares it with time(), between two hourly checks too.
            Gauge(label: "lvsync_tls_certificate_expiry_timestamp_seconds", dimensions: [("certificate", label)])
                .record(notValidAfter.timeIntervalSince1970)
            let level = CertificateExpiry.level(notValidAfter: notValidAfter, now: now)
            levels[label] = level
            let due = logged.withLock { logged in
                guard CertificateExpiry.isLogDue(level, now: now, last: logged[label]) else {
                    if level == .fine { logged[label] = nil }
                    return false
                }
                logged[label] = (now, level)
                return true
            }
            guard due else { continue }
            let days = CertificateExpiry.daysLeft(notValidAfter: notValidAfter, now: now)
            let what = label == "node" ? "this node's certificate" : "the CA certificate"
            let message: Logger.Message =
                seconds < 0
                ? "\(what) has expired: renew it and reload (lvsync certs renew, systemctl reload lvsync)"
                : "\(what) expires soon: renew it and reload (lvsync certs renew, systemctl reload lvsync)"
            logger.log(
                level: level >= .error ? .error : .warning,
                message,
                metadata: [
                    "certificate": "\(label)", "days_left": "\(days)",
                    "not_after": "\(notValidAfter.formatted(.iso8601))",
                ]
            )
        }
        return levels
    }

    /// How long to sleep after a check at `now`: until the nearest change of level of any certificate, at most
    /// ``interval``.
    func sleepAfterCheck(now: Date) -> Duration {
        let interval = TimeInterval(Self.interval.components.seconds)
        let seconds =
            certificates.map {
                CertificateExpiry.nextCheck(notValidAfter: $0.notValidAfter, now: now, interval: interval)
            }.min() ?? interval
        return .milliseconds(Int64(seconds * 1_000))
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    self.check()
                    // Until the next change of level, or a reload (new material, new dates), whichever is first.
                    let (generation, deadline) = (
                        self.store.generation, ContinuousClock.now + self.sleepAfterCheck(now: self.clock())
                    )
                    while self.store.generation == generation, ContinuousClock.now < deadline {
                        try await Task.sleep(for: min(.seconds(1), deadline - ContinuousClock.now))
                    }
                }
            }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // The graceful shutdown cancels the sleep: the service's normal end.
        }
    }
}
