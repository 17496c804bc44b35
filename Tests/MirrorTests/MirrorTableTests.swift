import Mirror
import SyncWire
import Testing

@Suite("Mirror table")
struct MirrorTableTests {
    static let t0 = MirrorTime(seconds: 100)

    static func tcp(
        _ port: UInt16,
        destination: String = "10.0.0.21",
        flags: ConnectionFlags = ConnectionFlags(rawValue: 0x83),
        timeout: UInt32? = 900
    ) -> SyncConnection {
        SyncConnection(
            ipProtocol: .tcp,
            client: Endpoint(.v4(IPv4Address(10, 0, 0, 10)), port),
            virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 80),
            destination: Endpoint(IPAddress(destination)!, 80),
            flags: flags,
            state: .tcpEstablished,
            timeout: timeout,
            fwmark: timeout == nil ? nil : 0
        )
    }

    static func sip(_ callID: String, destination: String) -> SyncConnection {
        SyncConnection(
            ipProtocol: .udp,
            client: Endpoint(.v4(IPv4Address(10, 0, 0, 10)), 0),
            virtual: Endpoint(.v4(IPv4Address(10, 0, 0, 100)), 5060),
            destination: Endpoint(IPAddress(destination)!, 5060),
            flags: [.template],
            state: .templateNone,
            timeout: 60,
            fwmark: 0,
            persistence: PersistenceData(engine: "sip", data: Array(callID.utf8))
        )
    }

    @Test("upsert inserts, then replaces the entry with the same kernel key")
    func upsertReplaces() {
        var table = MirrorTable()
        #expect(table.upsert(Self.tcp(40000), now: Self.t0) == .inserted)
        var closing = Self.tcp(40000)
        closing.state = ConnectionState(rawValue: 4)
        #expect(table.upsert(closing, now: Self.t0) == .updated)
        #expect(table.count == 1)
        #expect(table.lookup(Self.tcp(40000), now: Self.t0)?.stateName == "FIN_WAIT")
        #expect(table.upsert(Self.tcp(40001), now: Self.t0) == .inserted)
        #expect(table.count == 2)
    }

    @Test("an inactive entry for another real server is the stale expiration message and is ignored")
    func staleExpiration() {
        var table = MirrorTable()
        table.upsert(Self.tcp(40000, destination: "10.0.0.22"), now: Self.t0)
        let stale = Self.tcp(40000, destination: "10.0.0.21", flags: [.inactive, ConnectionFlags(rawValue: 3)])
        #expect(table.upsert(stale, now: Self.t0) == .ignoredStale)
        #expect(table.lookup(stale, now: Self.t0)?.destination.address == IPAddress("10.0.0.22"))
        #expect(table.upsert(Self.tcp(40000, destination: "10.0.0.21"), now: Self.t0) == .updated)
    }

    @Test("SIP templates with different Call-IDs are different entries; the same Call-ID replaces")
    func persistenceDataIsPartOfTheKey() {
        var table = MirrorTable()
        #expect(table.upsert(Self.sip("call-a", destination: "10.0.0.21"), now: Self.t0) == .inserted)
        #expect(table.upsert(Self.sip("call-b", destination: "10.0.0.22"), now: Self.t0) == .inserted)
        #expect(table.upsert(Self.sip("call-a", destination: "10.0.0.22"), now: Self.t0) == .updated)
        #expect(table.count == 2)
        let a = table.lookup(Self.sip("call-a", destination: "0.0.0.0"), now: Self.t0)
        #expect(a?.destination.address == IPAddress("10.0.0.22"))
        #expect(a?.persistence?.dataText == "call-a")
    }

    @Test("entries expire by their own timeout, re-armed by each update")
    func expiry() {
        var table = MirrorTable()
        table.upsert(Self.tcp(1, timeout: 10), now: Self.t0)
        table.upsert(Self.tcp(2, timeout: 100), now: Self.t0)
        table.upsert(Self.tcp(3, timeout: 10), now: Self.t0)
        table.upsert(Self.tcp(3, timeout: 10), now: MirrorTime(seconds: 105))
        let at111 = MirrorTime(seconds: 111)
        #expect(table.lookup(Self.tcp(1), now: at111) == nil)
        #expect(table.snapshot(now: at111).map(\.connection.client.port).sorted() == [2, 3])
        #expect(table.snapshot(now: at111).first { $0.connection.client.port == 3 }?.remaining == 4)
        #expect(table.removeExpired(now: at111) == 1)
        #expect(table.count == 2)
        #expect(table.removeExpired(now: MirrorTime(seconds: 115)) == 1)
        #expect(table.removeExpired(now: MirrorTime(seconds: 199)) == 0)
        #expect(table.removeExpired(now: MirrorTime(seconds: 200)) == 1)
        #expect(table.count == 0)
    }

    @Test("entries without a timeout get the kernel's defaults")
    func defaultTimeouts() {
        var table = MirrorTable()
        table.upsert(Self.tcp(1, timeout: nil), now: Self.t0)
        table.upsert(Self.tcp(2, timeout: 0), now: Self.t0)
        let snapshot = table.snapshot(now: Self.t0)
        #expect(snapshot.map(\.remaining) == [900, 900])
        #expect(snapshot.first { $0.connection.client.port == 1 }?.connection.timeout == nil)
    }

    @Test("a copy is a consistent snapshot while the original keeps changing")
    func copyIsSnapshot() {
        var table = MirrorTable()
        for port in 1...50 { table.upsert(Self.tcp(UInt16(port)), now: Self.t0) }
        let frozen = table
        for port in 1...25 { table.remove(Self.tcp(UInt16(port))) }
        for port in 51...60 { table.upsert(Self.tcp(UInt16(port)), now: Self.t0) }
        #expect(frozen.count == 50)
        #expect(table.count == 35)
        #expect(Set(frozen.snapshot(now: Self.t0).map(\.connection.client.port)) == Set((1...50).map(UInt16.init)))
    }

    @Test("counts by protocol, template and state")
    func counts() {
        var table = MirrorTable()
        table.upsert(Self.tcp(1), now: Self.t0)
        table.upsert(Self.tcp(2), now: Self.t0)
        table.upsert(Self.sip("x", destination: "10.0.0.21"), now: Self.t0)
        let counts = table.counts(now: Self.t0)
        #expect(counts[MirrorCountKey(ipProtocol: .tcp, isTemplate: false, stateName: "ESTABLISHED")] == 2)
        #expect(counts[MirrorCountKey(ipProtocol: .udp, isTemplate: true, stateName: "NONE")] == 1)
    }

    @Test("many inserts and removals keep every remaining entry reachable", arguments: [1, 7, 1000, 20000])
    func churn(seed: Int) {
        var table = MirrorTable()
        var expected: Set<UInt16> = []
        var state = UInt64(seed) | 1
        for _ in 0..<30000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let port = UInt16(truncatingIfNeeded: state >> 33) % 5000
            if state >> 62 == 0 {
                #expect(table.remove(Self.tcp(port)) == expected.contains(port))
                expected.remove(port)
            } else {
                table.upsert(Self.tcp(port), now: Self.t0)
                expected.insert(port)
            }
        }
        #expect(table.count == expected.count)
        for port in expected { #expect(table.lookup(Self.tcp(port), now: Self.t0) != nil) }
        #expect(Set(table.snapshot(now: Self.t0).map(\.connection.client.port)) == expected)
    }

    @Test("entries come back exactly as stored, IPv6, templates and sequence data included")
    func fidelity() {
        var table = MirrorTable()
        let v6 = SyncConnection(
            ipProtocol: .tcp,
            client: Endpoint(IPAddress("fd00::10")!, 41000),
            virtual: Endpoint(IPAddress("fd00::100")!, 443),
            destination: Endpoint(IPAddress("fd00::22")!, 443),
            flags: [.inSequence],
            state: .tcpEstablished,
            timeout: 900,
            fwmark: 0,
            sequence: SequenceOptions(
                inbound: SequenceAdjustment(initialSequence: 1, delta: 2, previousDelta: 3),
                outbound: SequenceAdjustment(initialSequence: 4, delta: 5, previousDelta: 6)
            )
        )
        let entries = [v6, Self.sip("call", destination: "10.0.0.21"), Self.tcp(5, timeout: nil)]
        for entry in entries { table.upsert(entry, now: Self.t0) }
        #expect(Set(table.snapshot(now: Self.t0).map(\.connection)) == Set(entries))
    }

    @Test("the hot path upserts decoded entries, and the snapshot hands them back with the rare ones whole")
    func entryPath() throws {
        var table = MirrorTable()
        let tcp = try #require(Self.tcp(7).entry)
        #expect(table.upsert(tcp, version: .v1, now: Self.t0) == .inserted)
        #expect(table.upsert(tcp, version: .v1, now: Self.t0) == .updated)
        table.upsert(Self.sip("call", destination: "10.0.0.21"), now: Self.t0)
        var plain: [SyncEntry] = []
        var whole: [SyncConnection] = []
        table.forEachEntry(now: Self.t0) { entry, connection in
            plain.append(entry)
            if let connection { whole.append(connection) }
        }
        #expect(plain.count == 2)
        #expect(plain.contains(tcp))
        #expect(whole == [Self.sip("call", destination: "10.0.0.21")])
        #expect(table.lookup(Self.tcp(7), now: Self.t0) == Self.tcp(7))
    }

    @Test("a message's worth upserted at once ends as one at a time: repeats in a batch, growth within it, stale ones")
    func batchedUpsert() throws {
        var batched = MirrorTable()
        var single = MirrorTable()
        var state: UInt64 = 12345
        let stale = try #require(
            Self.tcp(3, destination: "10.0.0.22", flags: [.inactive, ConnectionFlags(rawValue: 3)]).entry
        )
        for round in 0..<400 {
            var batch: [SyncEntry] = []
            for _ in 0..<(round % 61 + 1) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let port = UInt16(truncatingIfNeeded: state >> 33) % 6000
                var entry = try #require(Self.tcp(port).entry)
                entry.timeout = UInt32(truncatingIfNeeded: state >> 50) % 900 + 1
                batch.append(entry)
            }
            if round % 50 == 0 { batch.append(stale) }
            let now = MirrorTime(seconds: 100 + UInt32(round))
            batch.withUnsafeBufferPointer { batched.upsert(contentsOf: $0, version: .v1, now: now) }
            for entry in batch { single.upsert(entry, version: .v1, now: now) }
        }
        // Time enough for early, short-lived ones to have expired: deadlines must agree too.
        let later = MirrorTime(seconds: 700)
        #expect(batched.count == single.count)
        #expect(batched.count > 1000)
        func held(_ table: MirrorTable) -> Set<String> {
            Set(table.snapshot(now: later).map { "\($0.connection) remaining \($0.remaining)" })
        }
        let same = held(batched) == held(single)
        #expect(same, "the batched table holds other entries, or other deadlines, than the one-at-a-time table")
        #expect(batched.lookup(Self.tcp(3), now: later) == single.lookup(Self.tcp(3), now: later))
    }

    @Test("an entry mixing address families is refused")
    func mixedFamilies() {
        var table = MirrorTable()
        var mixed = Self.tcp(1)
        mixed.destination = Endpoint(IPAddress("fd00::1")!, 80)
        #expect(table.upsert(mixed, now: Self.t0) == .rejectedMixedFamilies)
        #expect(table.count == 0)
    }
}
