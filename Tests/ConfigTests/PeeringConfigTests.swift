import Config
import Foundation
import IPVS
import SyncWire
import Testing

@Suite("Configuration: node, peers, tls, sync, timers")
struct PeeringConfigTests {
    static func example(_ name: String) throws -> LVSyncConfig {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../examples/\(name)").standardized
        return try LVSyncConfig(yaml: String(contentsOf: url, encoding: .utf8), file: name)
    }

    @Test("the example pair reads: two elected directors, each naming the other, with the VIPs and a health check")
    func examplePair() throws {
        let a = try #require(try Self.example("director-a.yaml").peering)
        let b = try #require(try Self.example("director-b.yaml").peering)
        #expect(a.node == "dira" && b.node == "dirb")
        #expect(a.peers.map(\.name) == ["dirb"] && b.peers.map(\.name) == ["dira"])
        #expect(a.peers.first?.address == Endpoint("10.0.1.3:7788") && b.listen == Endpoint("10.0.1.3:7788"))
        #expect(a.sync.role == nil && b.sync.role == nil)
        let failover = try #require(a.failover)
        #expect(failover == b.failover)
        #expect(failover.vips.map(\.description).first == "10.0.0.100/24 dev eth0")
        #expect(failover.vips.count == 4 && failover.vips[2].prefixLength == 64)
        #expect(failover.health.map(\.condition) == ["interface:eth0"] && failover.health[0].lowerPriorityBy == nil)
        #expect(!failover.preempt && failover.bootWaitMilliseconds == 1500 && failover.announceCount == 3)
        #expect(a.sync.syncID == b.sync.syncID && a.sync.group == b.sync.group && a.sync.port == 8848)
        #expect(a.sync.address == IPv4Address(169, 254, 77, 1))
        #expect(a.tls.certificate == "/etc/lvsync/dira.pem")
        #expect(a.heartbeatMilliseconds == 100 && a.deadMilliseconds == 500)
        #expect(a.sync.logBytes == 64 << 20)
        #expect(a.statsIntervalSeconds == 10)
        #expect(try Self.example("director-a.yaml").virtualServices.count == 7)
    }

    @Test("a file with services only (for lvsync ipvs apply) has no peering section")
    func servicesOnly() throws {
        let config = try LVSyncConfig(yaml: "virtual_services: []\n", file: "f.yaml")
        #expect(config.peering == nil)
    }

    @Test("the example cluster reads: three members, each naming the two others, VIPs on lo, sloppy TCP and SCTP on")
    func exampleCluster() throws {
        let files = try ["a", "b", "c"].map { try Self.example("cluster-\($0).yaml") }
        let members = try files.map { try #require($0.peering) }
        #expect(members.map(\.node) == ["dira", "dirb", "dirc"])
        for member in members {
            #expect(member.cluster != nil && member.failover == nil && member.sync.role == nil)
            #expect(Set(member.peers.map(\.name) + [member.node]) == ["dira", "dirb", "dirc"])
            #expect(member.cluster?.vips.map(\.description) == ["192.0.2.10/32 dev lo", "2001:db8::10/128 dev lo"])
            #expect(
                member.cluster?.announce
                    == ClusterConfig.Announce(
                        table: 200,
                        waitMilliseconds: 10_000,
                        drainMilliseconds: 5_000,
                        frr: "/var/run/frr"
                    )
            )
        }
        for file in files {
            #expect(
                file.kernel.isOn(.sloppyTCP) && file.kernel.isOn(.sloppySCTP) && file.kernel.isOn(.expireNodestConn)
            )
            #expect(file.virtualServices.map(\.service.scheduler) == ["mh"])
        }
        // Set off in the file, it stays off.
        let off = try LVSyncConfig(yaml: Self.elected + "cluster: {}\nkernel: { sloppy_sctp: false }\n", file: "f.yaml")
        #expect(off.kernel.sysctls[.sloppySCTP] == 0 && off.kernel.sysctls[.sloppyTCP] == 1)
        // A pair's file sets neither.
        #expect(try Self.example("director-a.yaml").kernel.sysctls[.sloppyTCP] == nil)
    }

    static let base = """
        node: dira
        listen: 10.0.0.2:7788
        peers:
          - { name: dirb, address: 10.0.0.3:7788 }
        tls: { ca: ca.pem, certificate: dira.pem, key: dira-key.pem }
        sync: { role: active, interface: lvsync0, address: 169.254.77.1, syncid: 9 }

        """

    struct BadCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var message: String
        var testDescription: String { message }
    }

    static let bad: [BadCase] = [
        BadCase(
            yaml: "peers: []\n",
            message: "f.yaml:1:8: peers: needs the top-level key 'node' (this director's name)"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "role: active", with: "role: master"),
            message: "f.yaml:6:15: sync.role: expected one of active, standby, found \"master\""
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "name: dirb", with: "name: dira"),
            message: "f.yaml:4:5: peers[0]: a peer cannot have this director's own name"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "10.0.0.3:7788", with: "10.0.0.3"),
            message:
                "f.yaml:4:28: peers[0].address: \"10.0.0.3\" is not an address and port (10.0.0.1:7788 or [fd00::1]:7788)"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "key: dira-key.pem", with: "cert: x"),
            message: "f.yaml:5:43: tls.cert: unknown key (known here: ca, certificate, key)"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "syncid: 9", with: "syncid: 256"),
            message: "f.yaml:6:74: sync.syncid: expected a whole number from 0 to 255, found \"256\""
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "syncid: 9", with: "syncid: 9, group: 10.0.0.1"),
            message: "f.yaml:6:84: sync.group: 10.0.0.1 is not a multicast group"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "interface: lvsync0", with: "interface: a-very-long-interface"),
            message:
                "f.yaml:6:34: sync.interface: \"a-very-long-interface\" is not an interface name (at most 15 characters, no '/' or spaces)"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "listen: 10.0.0.2:7788\n", with: ""),
            message: "f.yaml:1:1: an active director needs 'listen' (where its standbys connect)"
        ),
        BadCase(
            yaml: base + "timers: { heartbeat_ms: 300, dead_ms: 500 }\n",
            message: "f.yaml:7:39: timers.dead_ms: the dead interval (500 ms) must be at least two heartbeats (600 ms)"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "node: dira", with: "node: dir_a"),
            message:
                "f.yaml:1:7: node: a node name is letters, digits, '-' and '.' (its certificate's DNS name), found \"dir_a\""
        ),
        BadCase(
            yaml: base.replacingOccurrences(
                of: "tls: { ca: ca.pem, certificate: dira.pem, key: dira-key.pem }\n",
                with: ""
            ),
            message: "f.yaml:1:1: missing the key 'tls'"
        ),
        BadCase(
            yaml: base.replacingOccurrences(of: "role: active, ", with: ""),
            message:
                "f.yaml:6:7: sync: needs 'role' (active or standby), or a top-level 'failover' section so that the election decides, or a 'cluster' section"
        ),
        BadCase(
            yaml: base + "cluster: {}\n",
            message:
                "f.yaml:6:15: sync.role: every cluster member is active and standby at once: remove 'role' from 'sync'"
        ),
        BadCase(
            yaml: elected + "cluster: {}\nfailover: {}\n",
            message:
                "f.yaml:8:11: failover: a cluster member is active for the flows the routers send it, with no election: remove 'failover' (or 'cluster' for an active/standby pair)"
        ),
        BadCase(
            yaml: elected.replacingOccurrences(of: "listen: 10.0.0.2:7788\n", with: "") + "cluster: {}\n",
            message: "f.yaml:1:1: a cluster member needs 'listen' (where the other members connect)"
        ),
        BadCase(
            yaml: elected + "cluster: { vips: [{ address: 192.0.2.10 }] }\n",
            message: "f.yaml:7:19: cluster.vips[0]: missing the key 'interface'"
        ),
        BadCase(
            yaml: elected + "cluster: { vips: [{ address: 192.0.2.10, interface: lo }], announce: { table: 254 } }\n",
            message:
                "f.yaml:7:79: cluster.announce.table: table 254 is the kernel's own (253 default, 254 main, 255 local): take another"
        ),
        BadCase(
            yaml: elected
                + "cluster: { vips: [{ address: 192.0.2.10, interface: lo }], announce: { table: 200, frr: run/frr } }\n",
            message:
                "f.yaml:7:89: cluster.announce.frr: frr is the directory of FRR's vty sockets (/var/run/frr): an absolute path"
        ),
        BadCase(
            yaml: elected
                + "cluster: { vips: [{ address: 192.0.2.10, interface: lo }], announce: { table: 1000, frr: /run/frr } }\n",
            message:
                "f.yaml:7:79: cluster.announce.table: FRR imports tables 1 to 251 (ip import-table): table 1000 would never be announced"
        ),
        BadCase(
            yaml: elected + "cluster: { announce: { table: 200 } }\n",
            message: "f.yaml:7:22: cluster.announce: announces the VIPs: list them in cluster.vips"
        ),
        BadCase(
            yaml: elected + "cluster: { members: 3 }\n",
            message: "f.yaml:7:12: cluster.members: unknown key (known here: announce, vips)"
        ),
        BadCase(
            yaml: base + "failover: { vips: [{ address: 10.0.0.100, interface: eth0 }] }\n",
            message: "f.yaml:7:11: failover: 'failover' lets the election decide the role: remove 'role' from 'sync'"
        ),
        BadCase(
            yaml: elected + "failover: { vips: [{ address: 10.0.0.100/33, interface: eth0 }] }\n",
            message: "f.yaml:7:31: failover.vips[0].address: \"33\" is not a prefix length for 10.0.0.100 (1 to 32)"
        ),
        BadCase(
            yaml: elected + "failover: { vips: [{ address: vip, interface: eth0 }] }\n",
            message:
                "f.yaml:7:31: failover.vips[0].address: \"vip\" is not an address or address/prefix (10.0.0.100/24, fd00::100/64)"
        ),
        BadCase(
            yaml: elected + "failover: { health: [{ interface: eth0, response: fault, lower_priority: 10 }] }\n",
            message:
                "f.yaml:7:22: failover.health[0]: a health condition has either 'response: fault' or 'lower_priority: N', not both"
        ),
        BadCase(
            yaml: elected + "failover: { health: [{ condition: disk }] }\n",
            message:
                "f.yaml:7:35: failover.health[0].condition: expected one of ipvs, kernel-sync, sync-interface, found \"disk\""
        ),
        BadCase(
            yaml: elected + "failover: { notify: { command: notify.sh } }\n",
            message:
                "f.yaml:7:32: failover.notify.command: the notify command must be an absolute path, found \"notify.sh\""
        ),
        BadCase(
            yaml: base + "control: { socket: run/lvsync.sock }\n",
            message:
                "f.yaml:7:20: control.socket: the control socket needs an absolute file path (e.g. /run/lvsync/lvsync.sock), found \"run/lvsync.sock\""
        ),
        BadCase(
            yaml: base + "control: { path: /run/x.sock }\n",
            message: "f.yaml:7:12: control.path: unknown key (known here: socket)"
        ),
        BadCase(
            yaml: base + "limits: { pending_connections: 0 }\n",
            message: "f.yaml:7:32: limits.pending_connections: expected a whole number from 1 to 65536, found \"0\""
        ),
        BadCase(
            yaml: base + "limits: { pending_connections: 4, pending_per_source: 8 }\n",
            message:
                "f.yaml:7:55: limits.pending_per_source: the per-source cap (8) cannot be above pending_connections (4)"
        ),
        BadCase(
            yaml: base + "limits: { hello_timeout: 5 }\n",
            message:
                "f.yaml:7:11: limits.hello_timeout: unknown key (known here: hello_timeout_ms, pending_connections, pending_per_source)"
        ),
        BadCase(
            yaml: base + "metrics: { listen: 127.0.0.1:9788, idle_timeout_ms: 10 }\n",
            message:
                "f.yaml:7:53: metrics.idle_timeout_ms: expected a whole number from 100 to 3600000, found \"10\""
        ),
        BadCase(
            yaml: base + "metrics: { listen: 127.0.0.1:9788, max_connections: 0 }\n",
            message: "f.yaml:7:53: metrics.max_connections: expected a whole number from 1 to 4096, found \"0\""
        ),
    ]

    static let elected = base.replacingOccurrences(of: "role: active, ", with: "")

    @Test("an elected director's failover section: VIPs with and without a prefix, health, hooks, defaults")
    func failoverSection() throws {
        let config = try LVSyncConfig(
            yaml: Self.elected + """
                failover:
                  preempt: true
                  vips:
                    - { address: 10.0.0.100, interface: eth0 }
                    - { address: "fd00::100/64", interface: eth0 }
                  health:
                    - { interface: eth0, response: fault }
                    - { condition: ipvs, lower_priority: 50 }
                  notify: { command: /usr/local/sbin/notify }

                """,
            file: "f.yaml"
        )
        let failover = try #require(config.peering?.failover)
        #expect(failover.preempt)
        #expect(failover.vips.map(\.description) == ["10.0.0.100/32 dev eth0", "fd00::100/64 dev eth0"])
        #expect(failover.health.map(\.condition) == ["interface:eth0", "ipvs"])
        #expect(failover.health.map(\.lowerPriorityBy) == [nil, 50])
        #expect(failover.notify?.command == "/usr/local/sbin/notify" && failover.notify?.timeoutMilliseconds == 5000)
        #expect(failover.bootWaitMilliseconds == 1500 && failover.announceIntervalMilliseconds == 100)
        #expect(failover.announceRefreshMilliseconds == 0)
    }

    @Test("announce.refresh_ms: off by default, at least a second when on")
    func announceRefresh() throws {
        func failover(_ announce: String) throws -> FailoverConfig? {
            try LVSyncConfig(
                yaml: Self.elected
                    + "failover:\n  vips: [{ address: 10.0.0.100, interface: eth0 }]\n  announce: \(announce)\n",
                file: "f.yaml"
            ).peering?.failover
        }
        #expect(try failover("{ refresh_ms: 30000 }")?.announceRefreshMilliseconds == 30_000)
        #expect(try failover("{ refresh_ms: 0 }")?.announceRefreshMilliseconds == 0)
        #expect {
            try failover("{ refresh_ms: 50 }")
        } throws: { error in
            "\(error)".contains("refresh_ms is 0 (off) or at least 1000, found 50")
        }
    }

    @Test("udp_heartbeat: 10 ms × 3 by default; the interval, the multiplier and their product are checked")
    func udpHeartbeat() throws {
        func udp(_ extra: String) throws -> FailoverConfig.UDPHeartbeat? {
            try LVSyncConfig(
                yaml: Self.elected + "timers: { heartbeat_ms: 100, dead_ms: 500 }\n"
                    + "failover:\n  udp_heartbeat: { listen: 10.9.0.2:7789, peers: [{ name: dirb, address: 10.9.0.3:7789 }], "
                    + "key_file: /etc/lvsync/heartbeat.key\(extra) }\n",
                file: "f.yaml"
            ).peering?.failover?.udpHeartbeat
        }
        let plain = try #require(try udp(""))
        #expect(plain.intervalMilliseconds == 9 && plain.detectMultiplier == 5 && plain.detectionMilliseconds == 45)
        #expect(plain.realtimePriority == 10)
        let set = try #require(try udp(", interval_ms: 20, detect_multiplier: 5, realtime_priority: 0"))
        #expect(set.intervalMilliseconds == 20 && set.detectMultiplier == 5 && set.realtimePriority == 0)
        for (extra, message) in [
            (", interval_ms: 0", "interval_ms: expected a whole number from 1 to 1000, found \"0\""),
            (", detect_multiplier: 1", "detect_multiplier: expected a whole number from 2 to 255, found \"1\""),
            (", realtime_priority: 100", "realtime_priority: expected a whole number from 0 to 99, found \"100\""),
            (
                ", interval_ms: 100, detect_multiplier: 5",
                "interval_ms × detect_multiplier (500 ms) must be shorter than the dead interval (500 ms)"
            ),
        ] {
            #expect {
                try udp(extra)
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }

    @Test("the control socket's path is optional: nil by default, the configured absolute path otherwise")
    func controlSocket() throws {
        let plain = try #require(try LVSyncConfig(yaml: Self.base, file: "f.yaml").peering)
        #expect(plain.controlSocket == nil)
        let yaml = Self.base + "control: { socket: /var/run/lvsync/control.sock }\n"
        let set = try #require(try LVSyncConfig(yaml: yaml, file: "f.yaml").peering)
        #expect(set.controlSocket == "/var/run/lvsync/control.sock")
    }

    @Test("the limits on the peer port and the metrics endpoint: defaults, and the configured values")
    func limits() throws {
        let plain = try #require(try LVSyncConfig(yaml: Self.base, file: "f.yaml").peering)
        #expect(plain.limits.pendingConnections == 64 && plain.limits.pendingPerSource == 8)
        #expect(plain.limits.helloTimeoutMilliseconds == 5000)
        #expect(plain.limits.metricsConnections == 16 && plain.limits.metricsIdleTimeoutMilliseconds == 10_000)
        let yaml =
            Self.base
            + "limits: { pending_connections: 4, hello_timeout_ms: 2500 }\n"
            + "metrics: { listen: 127.0.0.1:9788, max_connections: 4, idle_timeout_ms: 3000 }\n"
        let set = try #require(try LVSyncConfig(yaml: yaml, file: "f.yaml").peering)
        #expect(set.limits.pendingConnections == 4 && set.limits.pendingPerSource == 4, "the per-source default fits")
        #expect(set.limits.helloTimeoutMilliseconds == 2500)
        #expect(set.limits.metricsConnections == 4 && set.limits.metricsIdleTimeoutMilliseconds == 3000)
        #expect(set.metricsListen == Endpoint("127.0.0.1:9788"))
    }

    @Test("the capture's buffer: the kernel's default unless set, 1 KiB to 1 GiB")
    func captureBuffer() throws {
        let plain = try #require(try LVSyncConfig(yaml: Self.base, file: "f.yaml").peering)
        #expect(plain.sync.captureBufferBytes == nil)
        let yaml = Self.base.replacingOccurrences(of: "syncid: 9 }", with: "syncid: 9, capture_buffer_bytes: 8388608 }")
        let set = try #require(try LVSyncConfig(yaml: yaml, file: "f.yaml").peering)
        #expect(set.sync.captureBufferBytes == 8 << 20)
        let tiny = Self.base.replacingOccurrences(of: "syncid: 9 }", with: "syncid: 9, capture_buffer_bytes: 10 }")
        #expect(throws: ConfigError.self) { try LVSyncConfig(yaml: tiny, file: "f.yaml") }
    }

    @Test("the mirror tables' size: they grow unless set, up to 16 M connections")
    func tableConnections() throws {
        let plain = try #require(try LVSyncConfig(yaml: Self.base, file: "f.yaml").peering)
        #expect(plain.sync.tableConnections == 0)
        let yaml = Self.base.replacingOccurrences(of: "syncid: 9 }", with: "syncid: 9, table_connections: 1000000 }")
        let set = try #require(try LVSyncConfig(yaml: yaml, file: "f.yaml").peering)
        #expect(set.sync.tableConnections == 1_000_000)
        let huge = Self.base.replacingOccurrences(of: "syncid: 9 }", with: "syncid: 9, table_connections: 99999999 }")
        #expect(throws: ConfigError.self) { try LVSyncConfig(yaml: huge, file: "f.yaml") }
    }

    @Test("each error names the file, line, key and what is wrong", arguments: bad)
    func errors(_ c: BadCase) {
        do {
            _ = try LVSyncConfig(yaml: c.yaml, file: "f.yaml")
            Issue.record("accepted: \(c.yaml)")
        } catch {
            #expect(error.description == c.message)
        }
    }
}
