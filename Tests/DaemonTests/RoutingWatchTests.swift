import Daemon
import Foundation
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// FRR's output as FRR 8.4 (Debian 12) printed it in the lab's namespaces: a router peering with two members (one
/// up, one never started) and a member announcing one VIP.
private enum FRRFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/frr").standardized

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
}

/// A stand-in for FRR's daemons on their vty sockets: `bgpd.vty` and `bfdd.vty` in a directory of its own, each
/// answering a command with the canned text and FRR's end marker (three NUL bytes and the status), or, for a command
/// it does not know, FRR's refusal with status 2. It records every command it was sent.
private final class FakeFRR: Sendable {
    let directory: String
    private let answers: [String: [String: String]]
    private let listeners = Mutex<[Int32]>([])
    private let received = Mutex<[String]>([])
    /// A daemon that answers half and hangs up.
    let truncating: Set<String>

    init(answers: [String: [String: String]], truncating: Set<String> = []) throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("frr-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.answers = answers
        self.truncating = truncating
        for daemon in answers.keys { try listen(daemon) }
    }

    var commands: [String] { received.withLock { $0 } }

    /// Ends the listeners: a shutdown wakes each accepting thread, which closes its socket itself. Closing it here
    /// would free the descriptor's number while the thread may still call accept on it, and a parallel test's new
    /// listener given that number would have its connections served by this stand-in.
    func stop() {
        for fd in listeners.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func listen(_ daemon: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array("\(directory)/\(daemon).vty".utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        listeners.withLock { $0.append(fd) }
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else {
                    close(fd)
                    return
                }
                serve(client, daemon)
                close(client)
            }
        }
        thread.start()
    }

    private func serve(_ client: Int32, _ daemon: String) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            pending.append(contentsOf: chunk[..<n])
            while let end = pending.firstIndex(of: 0) {
                let command = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeSubrange(...end)
                received.withLock { $0.append("\(daemon): \(command)") }
                var reply: [UInt8]
                if command == "enable" {
                    reply = [0, 0, 0, 0]
                } else if let text = answers[daemon]?[command] {
                    reply = Array(text.utf8) + [0, 0, 0, 0]
                    if truncating.contains(daemon) {
                        reply = Array(reply.prefix(reply.count / 2))
                        _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        return
                    }
                } else {
                    reply = Array("% Unknown command: \(command)\n".utf8) + [0, 0, 0, 2]
                }
                _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }
}

@Suite("The routing daemon's sessions: FRR's vty protocol, its JSON, and the watch that reads them")
struct RoutingWatchTests {
    private static func routerFRR(truncating: Set<String> = []) throws -> FakeFRR {
        try FakeFRR(
            answers: [
                "bgpd": ["show bgp summary json": try FRRFixture.text("router-bgp-summary.json")],
                "bfdd": ["show bfd peers json": try FRRFixture.text("router-bfd-peers.json")],
            ],
            truncating: truncating
        )
    }

    @Test("the vty client sends enable first, then the command, and returns the answer without the end marker")
    func vtyProtocol() throws {
        let frr = try Self.routerFRR()
        defer { frr.stop() }
        let answer = try FRRVty(directory: frr.directory).run("show bgp summary json", on: "bgpd")
        #expect(answer == (try FRRFixture.text("router-bgp-summary.json")))
        #expect(frr.commands == ["bgpd: enable", "bgpd: show bgp summary json"])
    }

    @Test("the vty client's errors name the socket and the reason: none there, a refused command, a cut answer")
    func vtyErrors() throws {
        let frr = try Self.routerFRR(truncating: ["bfdd"])
        defer { frr.stop() }
        let vty = FRRVty(directory: frr.directory, timeout: .seconds(2))
        #expect {
            try vty.run("show bgp summary json", on: "zebra")
        } throws: { error in
            "\(error)".contains("\(frr.directory)/zebra.vty: connect: No such file or directory")
        }
        #expect {
            try vty.run("show nonsense", on: "bgpd")
        } throws: { error in
            "\(error)".contains("refused 'show nonsense' (status 2): % Unknown command: show nonsense")
        }
        #expect {
            try vty.run("show bfd peers json", on: "bfdd")
        } throws: { error in
            "\(error)".contains("closed before it answered 'show bfd peers json'")
        }
    }

    @Test("FRR's JSON read: the router's two neighbours (one established, one never up) and their BFD sessions")
    func parseRouter() throws {
        let sessions = try RoutingSessions.parse(
            bgpSummary: try FRRFixture.text("router-bgp-summary.json"),
            bfdPeers: try FRRFixture.text("router-bfd-peers.json")
        )
        #expect(sessions.bgp.map(\.address) == ["10.8.1.11", "10.8.1.12"])
        #expect(sessions.bgp.map(\.state) == ["Established", "Active"])
        #expect(sessions.bgp[0].family == "ipv4Unicast")
        #expect(sessions.bgp[0].uptimeSeconds == 6 && sessions.bgp[1].uptimeSeconds == nil)
        #expect(sessions.bgp[0].prefixesReceived == 1)
        #expect(sessions.establishedNeighbours == ["10.8.1.11"])
        #expect(sessions.bfd.map(\.status) == ["up", "down"])
        #expect(sessions.bfdUp == ["10.8.1.11"])
    }

    @Test("FRR's JSON read: a member announcing its VIP to the router (one prefix sent), BFD up")
    func parseMember() throws {
        let sessions = try RoutingSessions.parse(
            bgpSummary: try FRRFixture.text("member-bgp-summary.json"),
            bfdPeers: try FRRFixture.text("member-bfd-peers.json")
        )
        #expect(sessions.bgp.count == 1)
        #expect(sessions.bgp[0].address == "10.8.1.1" && sessions.bgp[0].prefixesSent == 1)
        #expect(sessions.bfdUp == ["10.8.1.1"])
    }

    @Test("output that is not FRR's JSON is refused with the command named; no BGP configured reads as no sessions")
    func parseErrors() throws {
        #expect {
            try RoutingSessions.parse(bgpSummary: "% BGP instance not found", bfdPeers: nil)
        } throws: { error in
            "\(error)".contains("'show bgp summary json' is not a JSON object: % BGP instance not found")
        }
        #expect {
            try RoutingSessions.parse(bgpSummary: "{}", bfdPeers: "{\"peer\": 1}")
        } throws: { error in
            "\(error)".contains("'show bfd peers json' is not a JSON array")
        }
        #expect(try RoutingSessions.parse(bgpSummary: "{}", bfdPeers: nil) == RoutingSessions())
    }

    @Test("the watch keeps the last reading, and an error when FRR stops answering; the log says what changed")
    func watch() throws {
        let frr = try Self.routerFRR()
        let log = LogLines()
        let watch = RoutingWatch(vty: FRRVty(directory: frr.directory), logger: log.logger)
        let first = watch.poll()
        #expect(first.error == nil)
        #expect(first.sessions?.establishedNeighbours == ["10.8.1.11"])
        #expect(log.entries.withLock { $0.filter { $0.contains("BGP session with a router established") }.count } == 1)
        #expect(
            log.entries.withLock { $0.filter { $0.contains("BGP session with a router not established") }.count } == 1
        )
        // Nothing changed: nothing more is logged.
        let logged = log.entries.withLock { $0.count }
        watch.poll()
        #expect(log.entries.withLock { $0.count } == logged)
        frr.stop()
        let gone = watch.poll()
        #expect(gone.sessions == nil)
        #expect(gone.error?.contains("bgpd.vty: connect") == true)
        #expect(log.entries.withLock { $0.last?.contains("cannot read the routing daemon's sessions") } == true)
        #expect(watch.latest?.error == gone.error)
    }
}
