import Config
import Daemon
import Foundation
import IPVS
import LVSyncTestSupport
import Mirror
import Prometheus
import SyncWire
import Testing

/// The daemon as `lvsync run` builds it: a YAML file and a host.
@Suite("LVSyncDaemon: built from a configuration file on a host")
struct LVSyncDaemonTests {
    static func build(_ yaml: String, host: InMemoryHost = InMemoryHost()) throws -> LVSyncDaemon {
        try LVSyncDaemon(
            file: try LVSyncConfig(yaml: yaml, file: "test.yaml"),
            path: "test.yaml",
            host: host.host,
            logger: quietLogger
        )
    }

    @Test("a file without the peering settings is refused, naming what the daemon needs")
    func noPeering() throws {
        #expect {
            try Self.build("kernel: { expire_nodest_conn: true }\n")
        } throws: { error in
            "\(error)".contains("the daemon needs 'node', 'peers', 'tls' and 'sync'")
        }
    }

    @Test("a node name its certificate does not prove is refused before anything starts")
    func wrongNode() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var file = TestDirectorFile(node: "dira", listen: 7788, peers: [("dirb", 7789)])
        file.role = "standby"
        let yaml = try file.yaml(pki: pki)
            .replacingOccurrences(of: "node: dira", with: "node: dirx")
        #expect {
            try Self.build(yaml)
        } throws: { error in
            "\(error)".contains("node is 'dirx' but") && "\(error)".contains("names 'dira'")
        }
    }

    @Test("the registry says which lvsync this is: lvsync_build_info with the version and the revision")
    func buildInfo() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        var file = TestDirectorFile(node: "dira", listen: 7788, peers: [("dirb", 7789)])
        file.role = "standby"
        let registry = PrometheusCollectorRegistry()
        _ = try LVSyncDaemon(
            file: try LVSyncConfig(yaml: try file.yaml(pki: pki), file: "test.yaml"),
            path: "test.yaml",
            host: InMemoryHost().host,
            registry: registry,
            logger: quietLogger
        )
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        // A plain swift build does not know its revision; ops/build-release.sh's does (the package's test reads it).
        #expect(
            String(decoding: bytes, as: UTF8.self).contains(
                #"lvsync_build_info{version="\#(BuildInfo.version)",revision="unknown"} 1"#
            )
        )
        #expect(BuildInfo.version.split(separator: ".").count == 3)
    }

    @Test("a fixed active converges the file's services at start and holds no VIP; it mirrors what its kernel sends")
    func fixedActiveStarts() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let port = try freePorts(1)[0]
        var file = TestDirectorFile(node: "dira", listen: port, peers: [("dirb", 1)])
        file.role = "active"
        file.extra = """
            virtual_services:
              - protocol: tcp
                address: 10.0.0.100
                port: 80
                scheduler: wrr
                real_servers:
                  - { address: 10.0.0.21, forwarding: dr, weight: 2 }

            """
        let host = InMemoryHost()
        let daemon = try Self.build(try file.yaml(pki: pki), host: host)
        let run = Task { try await daemon.run() }
        defer { run.cancel() }
        #expect(await eventually { daemon.director.director.source != nil })
        #expect(try host.ipvs.services().count == 1)
        #expect(try host.ipvs.syncDaemons().map(\.role) == [.master])
        #expect(host.addresses.addresses.isEmpty)
        host.master.emit(TestConnections.messages(0..<100))
        #expect(await eventually { daemon.director.director.source?.table.count == 100 })
    }
}
