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
