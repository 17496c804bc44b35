import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `lvsync certs init`: a new CA and one certificate per node, written into a directory.
///
/// The directory gets `ca.pem`, `ca-key.pem` and, per node, `NAME.pem` and `NAME-key.pem`. Keys are written with
/// mode 0600, certificates 0644; a missing directory is created with mode 0700. Nothing is written if any of the
/// files exists, unless `force` is set.
public enum CertificateDirectory {
    /// One file `initialize` wrote.
    public struct WrittenFile: Sendable, Equatable {
        /// The file's path.
        public let path: String
        /// Its permission bits (0600 for keys, 0644 for certificates).
        public let mode: UInt16
    }

    /// Writes a new CA and a certificate for each node into `directory`; returns the files written.
    @discardableResult
    public static func initialize(
        directory: String,
        nodes: [String],
        nodeDays: Int = CertificateAuthority.defaultNodeLifetimeDays,
        caDays: Int = CertificateAuthority.defaultCALifetimeDays,
        force: Bool = false,
        now: Date = Date()
    ) throws(PeerTransportError) -> [WrittenFile] {
        if let bad = nodes.first(where: { !NodeName.isValid($0) || $0 == "ca" }) { throw .invalidNodeName(bad) }
        let authority = try CertificateAuthority.generate(days: caDays, now: now)
        var contents: [(name: String, text: String, mode: UInt16)] = [
            ("ca.pem", authority.certificatePEM, 0o644),
            ("ca-key.pem", authority.privateKeyPEM, 0o600),
        ]
        for node in Set(nodes).sorted() {
            let issued = try authority.issue(node: node, days: nodeDays, now: now)
            contents.append(("\(node).pem", issued.certificatePEM, 0o644))
            contents.append(("\(node)-key.pem", issued.privateKeyPEM, 0o600))
        }
        try createDirectory(directory)
        let files = contents.map { (path: (directory as NSString).appendingPathComponent($0.name), $0.text, $0.mode) }
        if !force, let existing = files.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw .fileExists(path: existing.path)
        }
        for file in files {
            try writeFile(file.1, to: file.path, mode: file.2)
        }
        return files.map { WrittenFile(path: $0.path, mode: $0.2) }
    }

    /// `lvsync certs issue`: a node certificate and a new key for `node`, signed by the CA of `directory` (its
    /// `ca.pem` and `ca-key.pem`), written as `NAME.pem` (0644) and `NAME-key.pem` (0600). Existing files are kept
    /// unless `force` is set. `lifetime` (seconds) replaces `days` when given: a short-lived certificate for an expiry
    /// drill.
    @discardableResult
    public static func issue(
        directory: String,
        node: String,
        days: Int = CertificateAuthority.defaultNodeLifetimeDays,
        lifetime: TimeInterval? = nil,
        force: Bool = false,
        now: Date = Date()
    ) throws(PeerTransportError) -> [WrittenFile] {
        guard NodeName.isValid(node), node != "ca" else { throw .invalidNodeName(node) }
        let authority = try loadAuthority(directory)
        let issued = try authority.issue(node: node, lifetime: lifetime ?? TimeInterval(days) * 86_400, now: now)
        let files = nodeFiles(directory, node)
        if !force,
            let existing = [files.certificate, files.key].first(where: { FileManager.default.fileExists(atPath: $0) })
        {
            throw .fileExists(path: existing)
        }
        return try replace(files, with: issued)
    }

    /// `lvsync certs renew`: a new certificate and a new key for `node`, whose certificate `NAME.pem` in `directory`
    /// must exist and name it, signed by the directory's CA. Each file is written beside the old one and renamed over
    /// it, so a reader sees the old file or the new one, never half of one. `lifetime` (seconds) replaces `days` when
    /// given.
    @discardableResult
    public static func renew(
        directory: String,
        node: String,
        days: Int = CertificateAuthority.defaultNodeLifetimeDays,
        lifetime: TimeInterval? = nil,
        now: Date = Date()
    ) throws(PeerTransportError) -> [WrittenFile] {
        let files = nodeFiles(directory, node)
        let current = try NodeIdentity.readCertificates(files.certificate, kind: .certificate)
        guard current[0].dnsNames.contains(node) else {
            throw .cannotIssue(
                subject: node,
                detail: "\(files.certificate) names \(current[0].dnsNames.joined(separator: ", ")), not \(node)"
            )
        }
        let authority = try loadAuthority(directory)
        let issued = try authority.issue(node: node, lifetime: lifetime ?? TimeInterval(days) * 86_400, now: now)
        return try replace(files, with: issued)
    }

    private static func nodeFiles(_ directory: String, _ node: String) -> (certificate: String, key: String) {
        let base = directory as NSString
        return (base.appendingPathComponent("\(node).pem"), base.appendingPathComponent("\(node)-key.pem"))
    }

    private static func loadAuthority(_ directory: String) throws(PeerTransportError) -> CertificateAuthority {
        let base = directory as NSString
        let certificate = base.appendingPathComponent("ca.pem")
        let key = base.appendingPathComponent("ca-key.pem")
        return try CertificateAuthority(
            certificatePEM: NodeIdentity.readText(certificate, kind: .caBundle),
            privateKeyPEM: NodeIdentity.readText(key, kind: .privateKey)
        )
    }

    /// Writes the key then the certificate, each to a temporary file renamed over the old one.
    private static func replace(
        _ files: (certificate: String, key: String),
        with issued: IssuedCertificate
    ) throws(PeerTransportError) -> [WrittenFile] {
        for (path, text, mode) in [
            (files.key, issued.privateKeyPEM, 0o600), (files.certificate, issued.certificatePEM, 0o644),
        ] {
            let temporary = path + ".new"
            try writeFile(text, to: temporary, mode: UInt16(mode))
            guard rename(temporary, path) == 0 else {
                let detail = String(cString: strerror(errno))
                unlink(temporary)
                throw .cannotWrite(path: path, detail: detail)
            }
        }
        return [WrittenFile(path: files.certificate, mode: 0o644), WrittenFile(path: files.key, mode: 0o600)]
    }

    private static func createDirectory(_ path: String) throws(PeerTransportError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .cannotWrite(path: path, detail: "it exists and is not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw .cannotWrite(path: path, detail: "\(error.localizedDescription)")
        }
    }

    /// Writes `text` to `path` with exactly `mode`: the file is created with it (never world-readable for a moment)
    /// and an existing file is truncated and given it.
    private static func writeFile(_ text: String, to path: String, mode: UInt16) throws(PeerTransportError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw .cannotWrite(path: path, detail: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fchmod(fd, mode_t(mode)) == 0 else {
            throw .cannotWrite(path: path, detail: String(cString: strerror(errno)))
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                throw .cannotWrite(path: path, detail: String(cString: strerror(errno)))
            }
            written += result
        }
    }
}
