import Foundation
import PeerTransport
import SwiftASN1
import Testing
import X509

/// `lvsync certs init`: the files, their modes and what the certificates say.
@Suite("CertificateDirectory.initialize (lvsync certs init)")
struct CertificateDirectoryTests {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("lvsync-certs-\(UUID().uuidString)/certs", isDirectory: true).path

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    private func certificate(_ name: String) throws -> Certificate {
        let text = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
        return try Certificate(pemEncoded: text)
    }

    private func cleanUp() {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    @Test("writes the CA and one certificate per node, keys 0600, directory 0700")
    func files() throws {
        defer { cleanUp() }
        let now = Date()
        let written = try CertificateDirectory.initialize(
            directory: directory,
            nodes: ["dira", "dirb"],
            nodeDays: 30,
            now: now
        )
        let names = ["ca.pem", "ca-key.pem", "dira.pem", "dira-key.pem", "dirb.pem", "dirb-key.pem"]
        #expect(written.map { ($0.path as NSString).lastPathComponent } == names)
        #expect(try mode(directory) == 0o700)
        for name in names {
            #expect(try mode("\(directory)/\(name)") == (name.hasSuffix("-key.pem") ? 0o600 : 0o644), "\(name)")
        }

        let ca = try certificate("ca.pem")
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        let caDays = ca.notValidAfter.timeIntervalSince(now) / 86_400
        #expect(abs(caDays - 3650) < 1)

        for node in ["dira", "dirb"] {
            let leaf = try certificate("\(node).pem")
            #expect(try leaf.extensions.subjectAlternativeNames == SubjectAlternativeNames([.dnsName(node)]))
            #expect(leaf.subject.description == "CN=\(node)")
            let usages = try #require(try leaf.extensions.extendedKeyUsage)
            #expect(usages.contains(.serverAuth) && usages.contains(.clientAuth))
            #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
            #expect(leaf.issuer == ca.subject)
            #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf))
            #expect(abs(leaf.notValidAfter.timeIntervalSince(now) / 86_400 - 30) < 1)
            #expect(leaf.notValidBefore <= now)
            // The written files load as a node identity.
            let identity = try NodeIdentity.load(
                certificateFile: "\(directory)/\(node).pem",
                privateKeyFile: "\(directory)/\(node)-key.pem",
                caFile: "\(directory)/ca.pem"
            )
            #expect(identity.name == node)
        }
        // The CA loads back from its files, to issue more certificates.
        let authority = try CertificateAuthority(
            certificatePEM: try String(contentsOfFile: "\(directory)/ca.pem", encoding: .utf8),
            privateKeyPEM: try String(contentsOfFile: "\(directory)/ca-key.pem", encoding: .utf8)
        )
        #expect(authority.certificate == ca)
    }

    @Test("the default node lifetime is 825 days")
    func defaultLifetime() throws {
        defer { cleanUp() }
        let now = Date()
        try CertificateDirectory.initialize(directory: directory, nodes: ["dira"], now: now)
        let days = try certificate("dira.pem").notValidAfter.timeIntervalSince(now) / 86_400
        #expect(abs(days - 825) < 1)
    }

    @Test("a second run refuses to overwrite without force, and changes nothing; with force it replaces the files")
    func overwrite() throws {
        defer { cleanUp() }
        try CertificateDirectory.initialize(directory: directory, nodes: ["dira"])
        let before = try certificate("ca.pem")
        #expect(throws: PeerTransportError.fileExists(path: "\(directory)/ca.pem")) {
            try CertificateDirectory.initialize(directory: directory, nodes: ["dira"])
        }
        #expect(try certificate("ca.pem") == before)
        try CertificateDirectory.initialize(directory: directory, nodes: ["dira"], force: true)
        #expect(try certificate("ca.pem") != before)
        #expect(try mode("\(directory)/dira-key.pem") == 0o600)
    }

    @Test("a node name that is not a DNS name is refused before anything is written")
    func badNodeName() throws {
        defer { cleanUp() }
        #expect(throws: PeerTransportError.invalidNodeName("dir a")) {
            try CertificateDirectory.initialize(directory: directory, nodes: ["dira", "dir a"])
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
