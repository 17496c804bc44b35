import Daemon
import Foundation
import Logging
import Mirror
import NIOCore
import PeerProtocol
import PeerTransport
import SyncWire

/// A private CA with certificates for `dira` (active) and `dirb` (standby), plus the bad ones the security tests
/// use: a foreign CA's, an expired one, and one for `mallory`.
struct TestPKI {
    let directory: URL
    let ca: CertificateAuthority

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lvsync-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        ca = try CertificateAuthority.generate()
        try write("ca.pem", ca.certificatePEM)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// A node's identity issued by this CA (or by `issuer`), with its validity window.
    func identity(
        _ node: String,
        issuer: CertificateAuthority? = nil,
        notValidBefore: Date = Date().addingTimeInterval(-300),
        notValidAfter: Date = Date().addingTimeInterval(86_400),
        loadAt: Date = Date()
    ) throws -> NodeIdentity {
        let authority = issuer ?? ca
        let issued = try authority.issue(node: node, notValidBefore: notValidBefore, notValidAfter: notValidAfter)
        let tag = UUID().uuidString
        try write("\(node)-\(tag).pem", issued.certificatePEM)
        try write("\(node)-\(tag)-key.pem", issued.privateKeyPEM)
        let caFile = "ca-\(tag).pem"
        // A foreign-issued identity trusts both CAs: its own (or it would not load) and ours (or it would refuse our
        // server first, and the server's refusal would not be what the test sees).
        try write(caFile, authority.certificatePEM + ca.certificatePEM)
        return try NodeIdentity.load(
            certificateFile: directory.appendingPathComponent("\(node)-\(tag).pem").path,
            privateKeyFile: directory.appendingPathComponent("\(node)-\(tag)-key.pem").path,
            caFile: directory.appendingPathComponent(issuer == nil ? "ca.pem" : caFile).path,
            now: loadAt
        )
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// Deterministic, distinct connections: IPv4 TCP mostly, some IPv6, and SIP persistence templates with a Call-ID.
enum TestConnections {
    static func connection(_ n: Int) -> SyncConnection {
        let client = UInt32(0x0a00_0000) | UInt32(n >> 8 & 0xffff) << 8 | UInt32(n & 0xff)
        let port = UInt16(1024 + (n >> 24) & 0x3fff)
        if n % 1000 == 7 {
            return SyncConnection(
                ipProtocol: .udp,
                client: Endpoint(.v4(IPv4Address(client)), 0),
                virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 5060),
                destination: Endpoint(.v4(IPv4Address(10, 0, 0, 21)), 5060),
                flags: ConnectionFlags(rawValue: 0x1000 | 0x03),
                state: ConnectionState(rawValue: 0),
                timeout: 60,
                fwmark: 0,
                persistence: PersistenceData(engine: "sip", data: Array("call-\(n)@client".utf8))
            )
        }
        if n % 50 == 3 {
            return SyncConnection(
                ipProtocol: .tcp,
                client: Endpoint(.v6(IPv6Address(high: 0xfd00_0000_0000_0000, low: UInt64(n))), port),
                virtual: Endpoint(.v6(IPv6Address(high: 0xfd00_0000_0000_0000, low: 0x100)), 443),
                destination: Endpoint(.v6(IPv6Address(high: 0xfd00_0000_0000_0000, low: 0x21)), 443),
                flags: [],
                state: .tcpEstablished,
                timeout: 900,
                fwmark: 0
            )
        }
        return SyncConnection(
            ipProtocol: .tcp,
            client: Endpoint(.v4(IPv4Address(client)), port),
            virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80),
            destination: Endpoint(.v4(IPv4Address(10, 0, 0, UInt8(21 + n % 2))), 80),
            flags: ConnectionFlags(rawValue: 0x83),
            state: .tcpEstablished,
            timeout: 900,
            fwmark: 0
        )
    }

    /// Connections `range` as kernel sync messages (version 1, sync ID 7, 1472 bytes at most).
    static func messages(_ range: Range<Int>) -> [[UInt8]] {
        let packer = SyncMessagePacker(version: .v1, syncID: 7)
        return try! packer.pack(range.map(connection))
    }
}

/// Whether two mirror tables hold the same connections with the same state.
func sameConnections(_ a: MirrorTable, _ b: MirrorTable) -> Bool {
    guard a.count == b.count else { return false }
    let now = MirrorTime(seconds: 0)
    var same = true
    a.forEach(now: now) { connection in
        if same, b.lookup(connection, now: now) != connection { same = false }
    }
    return same
}

/// Waits until `condition` holds, checking every 20 ms; gives up (returning false) after `limit`. The limit is a
/// safety net against a hung test, not a performance assertion.
func eventually(limit: Duration = .seconds(120), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

let quietLogger: Logger = {
    var logger = Logger(label: "lvsync-test")
    logger.logLevel = ProcessInfo.processInfo.environment["LVSYNC_TEST_LOG"] != nil ? .debug : .critical
    return logger
}()
