import Daemon
import Logging
import NIOCore
import PeerProtocol
import Prometheus
import SyncWire
import Synchronization
import Testing

@Suite("The second path's freshness rule (a pure state machine)")
struct HeartbeatFreshnessTests {
    let ours: UInt64 = 0xA11CE

    @Test(
        "a restarted receiver refuses a datagram made for its previous process, then counts the peer after one round trip"
    )
    func restartRefusesReplay() {
        var previous = HeartbeatFreshness(nonce: 0x01D)
        #expect(previous.receive(from: "dira", incarnation: 100, sequence: 7, senderNonce: 0xA, echo: 0x01D) == .alive)
        // This process restarted with a new nonce; a copy of that datagram arrives again.
        var restarted = HeartbeatFreshness(nonce: ours)
        #expect(
            restarted.receive(from: "dira", incarnation: 100, sequence: 7, senderNonce: 0xA, echo: 0x01D)
                == .ignored(.notFresh)
        )
        // Its copy again is a replay, and an earlier one of the same life is no better.
        #expect(
            restarted.receive(from: "dira", incarnation: 100, sequence: 7, senderNonce: 0xA, echo: 0x01D)
                == .ignored(.replay)
        )
        #expect(
            restarted.receive(from: "dira", incarnation: 100, sequence: 3, senderNonce: 0xA, echo: 0x01D)
                == .ignored(.replay)
        )
        // The live peer's next advert (still echoing the old nonce) is not fresh either, but it teaches the nonce to
        // echo; the peer then echoes ours and counts.
        #expect(
            restarted.receive(from: "dira", incarnation: 100, sequence: 8, senderNonce: 0xA, echo: 0x01D)
                == .ignored(.notFresh)
        )
        #expect(restarted.echo(for: "dira") == 0xA)
        #expect(restarted.receive(from: "dira", incarnation: 100, sequence: 9, senderNonce: 0xA, echo: ours) == .alive)
        // Later adverts of that life count by their sequence.
        #expect(restarted.receive(from: "dira", incarnation: 100, sequence: 10, senderNonce: 0xA, echo: 0) == .alive)
        #expect(
            restarted.receive(from: "dira", incarnation: 100, sequence: 10, senderNonce: 0xA, echo: ours)
                == .ignored(.replay)
        )
    }

    @Test("a peer restarted with its clock stepped back (a lower incarnation) is its new life once fresh")
    func lowerIncarnation() {
        var state = HeartbeatFreshness(nonce: ours)
        #expect(state.receive(from: "dira", incarnation: 5_000, sequence: 40, senderNonce: 0xA, echo: ours) == .alive)
        // The restarted peer does not know this nonce yet.
        #expect(
            state.receive(from: "dira", incarnation: 1_000, sequence: 1, senderNonce: 0xB, echo: 0)
                == .ignored(.notFresh)
        )
        #expect(state.echo(for: "dira") == 0xB)
        #expect(
            state.receive(from: "dira", incarnation: 1_000, sequence: 2, senderNonce: 0xB, echo: ours)
                == .newLife(retired: 5_000)
        )
        #expect(state.receive(from: "dira", incarnation: 1_000, sequence: 3, senderNonce: 0xB, echo: ours) == .alive)
        // A higher one is a new life the same way.
        #expect(
            state.receive(from: "dira", incarnation: 9_000, sequence: 1, senderNonce: 0xC, echo: ours)
                == .newLife(retired: 1_000)
        )
    }

    @Test("a replay of a retired incarnation is refused, even one that echoes this nonce")
    func retiredReplay() {
        var state = HeartbeatFreshness(nonce: ours)
        #expect(state.receive(from: "dira", incarnation: 5_000, sequence: 40, senderNonce: 0xA, echo: ours) == .alive)
        #expect(
            state.receive(from: "dira", incarnation: 1_000, sequence: 1, senderNonce: 0xB, echo: ours)
                == .newLife(retired: 5_000)
        )
        #expect(
            state.receive(from: "dira", incarnation: 5_000, sequence: 41, senderNonce: 0xA, echo: ours)
                == .ignored(.stale)
        )
        // The refused datagram does not change the nonce this director echoes.
        #expect(state.echo(for: "dira") == 0xB)
    }

    @Test("at most retiredLimit incarnations are kept retired per peer; peers are apart")
    func retiredLimit() {
        var state = HeartbeatFreshness(nonce: ours, retiredLimit: 2)
        for incarnation in UInt64(1)...4 {
            _ = state.receive(from: "dira", incarnation: incarnation, sequence: 1, senderNonce: 0xA, echo: ours)
        }
        // 2 and 3 retired, 1 forgotten (so it would count again: the bound is documented).
        #expect(
            state.receive(from: "dira", incarnation: 3, sequence: 2, senderNonce: 0xA, echo: ours) == .ignored(.stale)
        )
        #expect(
            state.receive(from: "dira", incarnation: 2, sequence: 2, senderNonce: 0xA, echo: ours) == .ignored(.stale)
        )
        #expect(state.receive(from: "dirb", incarnation: 3, sequence: 1, senderNonce: 0xD, echo: ours) == .alive)
        #expect(state.echo(for: "dira") == 0xA && state.echo(for: "dirb") == 0xD && state.echo(for: "dirc") == 0)
    }
}

@Suite("The second path's exchange: sealing with the nonces, ignoring and counting")
struct HeartbeatExchangeTests {
    let codec = try! HeartbeatDatagram(key: Array(repeating: 7, count: 32))
    let source = Endpoint(IPAddress("10.0.0.1")!, 7000)
    var peers: [UDPHeartbeats.Peer] { [UDPHeartbeats.Peer(name: "dira", address: source)] }

    func advert(_ incarnation: UInt64, _ sequence: UInt64, node: String = "dira") -> PeerMessage.Advert {
        PeerMessage.Advert(
            node: node,
            priority: 150,
            state: .active,
            inSync: true,
            incarnation: incarnation,
            sequence: sequence,
            tableSize: 0
        )
    }

    func counted(_ registry: PrometheusCollectorRegistry, _ reason: String) -> Int {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        let exposition = String(decoding: bytes, as: UTF8.self)
        for line in exposition.split(separator: "\n")
        where line.hasPrefix("lvsync_heartbeat_datagrams_ignored_total{reason=\"\(reason)\"} ") {
            return Int(line.split(separator: " ").last ?? "") ?? -1
        }
        return 0
    }

    @Test("two exchanges count each other after one round trip; a replay from before the restart never counts")
    func handshakeAndRestart() throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = PrometheusMetricsFactory(registry: registry)
        let logs = LogLines()
        let peerAddress = Endpoint(IPAddress("10.0.0.2")!, 7000)
        let a = HeartbeatExchange(
            codec: codec,
            peers: [UDPHeartbeats.Peer(name: "dirb", address: peerAddress)],
            nonce: 0xAAAA,
            logger: logs.logger,
            metrics: metrics
        )
        var b = HeartbeatExchange(codec: codec, peers: peers, nonce: 0xB0, logger: logs.logger, metrics: metrics)
        // A speaks first: B cannot count it yet, but learns its nonce; A then counts B's answer, and B A's next.
        let first = a.datagram(advert(1, 1), to: "dirb")
        #expect(b.receive(first, from: source) == nil)
        #expect(a.receive(b.datagram(advert(2, 1, node: "dirb"), to: "dira"), from: peerAddress) != nil)
        #expect(b.receive(a.datagram(advert(1, 2), to: "dirb"), from: source) == advert(1, 2))
        let recorded = a.datagram(advert(1, 3), to: "dirb")
        #expect(b.receive(recorded, from: source) == advert(1, 3))
        #expect(b.receive(recorded, from: source) == nil)  // its copy
        // B restarts: the datagram recorded before is refused (the old code took it as a sign of life).
        b = HeartbeatExchange(codec: codec, peers: peers, nonce: 0xB1, logger: logs.logger, metrics: metrics)
        #expect(b.receive(recorded, from: source) == nil)
        #expect(b.ignored(.notFresh) == 1)
        #expect(counted(registry, "not_fresh") == 2)
        #expect(counted(registry, "replay") == 1)
    }

    @Test("a lower incarnation is the peer's new life once it echoes; replays of the retired one are refused")
    func lowerIncarnationThroughTheExchange() throws {
        let registry = PrometheusCollectorRegistry()
        let ours: UInt64 = 0xC0FFEE
        let exchange = HeartbeatExchange(
            codec: codec,
            peers: peers,
            nonce: ours,
            logger: LogLines().logger,
            metrics: PrometheusMetricsFactory(registry: registry)
        )
        let old = codec.seal(advert(5_000, 10), nonce: 0xA, echo: ours, number: 10)
        #expect(exchange.receive(old, from: source) == advert(5_000, 10))
        // The peer restarted with its clock stepped back: a lower incarnation (the old code ignored it for good).
        #expect(exchange.receive(codec.seal(advert(1_000, 1), nonce: 0xB, echo: 0, number: 1), from: source) == nil)
        #expect(
            exchange.datagram(advert(7, 1, node: "dirb"), to: "dira")
                == codec.seal(advert(7, 1, node: "dirb"), nonce: ours, echo: 0xB, number: 1)
        )
        #expect(
            exchange.receive(codec.seal(advert(1_000, 2), nonce: 0xB, echo: ours, number: 2), from: source)
                == advert(1_000, 2)
        )
        // The old life's datagrams, replayed, are refused.
        #expect(
            exchange.receive(codec.seal(advert(5_000, 11), nonce: 0xA, echo: ours, number: 11), from: source) == nil
        )
        #expect(exchange.ignored(.stale) == 1 && counted(registry, "stale") == 1)
        #expect(exchange.ignored(.notFresh) == 1 && counted(registry, "not_fresh") == 1)
    }

    @Test("every refused datagram is counted by reason; a flood logs a few lines, then how many were suppressed")
    func countsAndRateLimit() throws {
        let registry = PrometheusCollectorRegistry()
        let logs = LogLines()
        let log = RateLimitedLog(logger: logs.logger, burst: 3, window: .seconds(10))
        let exchange = HeartbeatExchange(
            codec: codec,
            peers: peers,
            nonce: 0xD,
            logger: logs.logger,
            log: log,
            metrics: PrometheusMetricsFactory(registry: registry)
        )
        let foreign = try HeartbeatDatagram(key: Array(repeating: 8, count: 32))
        for sequence in UInt64(1)...100 {
            #expect(
                exchange.receive(foreign.seal(advert(1, sequence), nonce: 1, echo: 0xD, number: sequence), from: source)
                    == nil
            )
        }
        #expect(exchange.receive([1, 2, 3], from: source) == nil)
        let elsewhere = Endpoint(IPAddress("10.9.9.9")!, 7000)
        #expect(exchange.receive(codec.seal(advert(1, 1), nonce: 1, echo: 0xD, number: 1), from: elsewhere) == nil)
        #expect(
            exchange.receive(codec.seal(advert(1, 1, node: "dirz"), nonce: 1, echo: 0xD, number: 1), from: source)
                == nil
        )
        #expect(counted(registry, "bad_mac") == 100 && exchange.ignored(.badMAC) == 100)
        #expect(counted(registry, "malformed") == 1 && exchange.ignored(.malformed) == 1)
        #expect(counted(registry, "unknown_peer") == 2 && exchange.ignored(.unknownPeer) == 2)
        let lines = logs.lines.withLock { $0 }
        #expect(lines.filter { $0.contains("HMAC does not match") }.count == 3, "\(lines)")
        log.flush(now: .now + .seconds(11))
        #expect(logs.lines.withLock { $0 }.contains("97 more suppressed"), "\(logs.lines.withLock { $0 })")
    }
}
