import Control
import Testing

@Suite("What lvsync status and conns print, from a daemon's replies")
struct CLIRenderingTests {
    static let status: JSONValue = [
        "node": "dira", "role": "active", "priority": 150, "effective_priority": 140, "in_sync": true,
        "vips": ["10.0.0.100/32", "10.0.0.101/32"], "vips_held": true,
        "sync": ["lag_ms_p99": 0.4, "position": 123, "table_size": 42, "kernel_connections": 45],
        "peers": [
            [
                "name": "dirb", "state": "standby", "priority": 100, "in_sync": true, "link": "up",
                "last_heard_ms": 37.4, "ack_sequence": 123, "table_size": 42, "kernel_connections": 42,
            ]
        ],
        "last_transition": ["from": "standby", "to": "active", "reason": "peer dirb lost", "seconds_ago": 12.5],
        "uptime_seconds": 3725, "fencing": "armed",
    ]

    @Test("status: a labelled line per field, the peers last, unknown fields kept")
    func statusSummary() async throws {
        let objects = try await withServer({ _, writer in try await writer.write(Self.status) }) { path in
            try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path)
        }
        #expect(objects == [Self.status])
        let expected = """
            node             dira
            role             active
            priority         150 (effective 140)
            in sync          yes
            vips             10.0.0.100/32, 10.0.0.101/32 (held here)
            sync             position 123, 42 connections mirrored, 45 in the kernel, lag p99 0.4 ms
            last transition  standby -> active 12.5s ago: peer dirb lost
            uptime           1h02m
            peer dirb        standby, priority 100, in sync, link up, heard 37 ms ago, acknowledged batch 123, \
            42 connections, 42 in its kernel
            fencing          armed
            """
        #expect(StatusText.render(objects[0]) == expected)
    }

    @Test("status: the real servers that are down, with why and for how long")
    func statusServersDown() {
        let status: JSONValue = [
            "node": "dira",
            "servers_down": [
                [
                    "server": "10.0.0.21:80", "service": "tcp 10.0.0.100:80", "seconds": 75,
                    "reason": "connection refused (3 failures in a row)", "check": "tcp 10.0.0.21:80",
                ]
            ],
        ]
        #expect(
            StatusText.render(status) == """
                node               dira
                down 10.0.0.21:80  of tcp 10.0.0.100:80 for 1m15s: connection refused (3 failures in a row) (tcp 10.0.0.21:80)
                """
        )
        #expect(StatusText.render(["servers_down": []]) == "servers down  none")
    }

    @Test("status: missing fields are left out")
    func statusSparse() {
        #expect(StatusText.render(["node": "dirb", "role": "initialising"]) == "node  dirb\nrole  initialising")
        #expect(StatusText.render([:]) == "")
    }

    /// What a ``ConnectionTableText/Printer`` prints for `connections`, each piece as printed.
    static func printed(_ connections: [JSONValue], lookahead: Int) -> (pieces: [String], count: Int) {
        var printer = ConnectionTableText.Printer(lookahead: lookahead)
        var pieces = connections.compactMap { printer.add($0) }
        if let rest = printer.finish() { pieces.append(rest) }
        return (pieces, printer.count)
    }

    @Test("conns: printed as it comes, the table reads as the whole table's; a short reply prints as one piece")
    func connectionTablePrinter() {
        let plain: [JSONValue] = (0..<10).map { n in
            [
                "protocol": "tcp", "client": .string("10.0.0.10:\(40000 + n)"), "virtual": "10.0.0.100:80",
                "destination": "10.0.0.21:80", "state": "ESTABLISHED", "expires_seconds": 900, "template": false,
            ]
        }
        let template: JSONValue = [
            "protocol": "udp", "client": "10.0.0.10:0", "virtual": "10.0.0.100:5060", "destination": "10.0.0.21:5060",
            "state": "NONE", "expires_seconds": 43, "template": true, "pe_name": "sip", "pe_data": "call-1@client",
        ]
        // Within the lookahead: one piece, exactly the whole table's text, with or without the engine's columns.
        for connections in [plain, plain + [template], [], [template]] {
            let (pieces, count) = Self.printed(connections, lookahead: 256)
            #expect(pieces == [ConnectionTableText.render(connections)])
            #expect(count == connections.count)
        }
        // Beyond it: the header and the first rows, then one line per object, the same text in all.
        let (pieces, count) = Self.printed(plain, lookahead: 3)
        #expect(pieces.count == 1 + plain.count - 4)
        #expect(pieces.joined(separator: "\n") == ConnectionTableText.render(plain))
        #expect(count == plain.count)
        // An engine's row after the header was chosen keeps its own columns.
        let late = Self.printed(plain + [template], lookahead: 3).pieces
        #expect(late.last == ConnectionTableText.render([template]).split(separator: "\n").last.map(String.init))
    }

    @Test("conns: the table reads like ipvsadm -Lnc, with the persistence engine's columns when present")
    func connectionTable() async throws {
        let connections: [JSONValue] = [
            [
                "protocol": "tcp", "client": "10.0.0.10:52464", "virtual": "10.0.0.100:8080",
                "destination": "10.0.0.22:8080", "state": "ESTABLISHED", "expires_seconds": 881, "template": false,
            ],
            [
                "protocol": "udp", "client": "10.0.0.10:0", "virtual": "10.0.0.100:5060",
                "destination": "10.0.0.21:5060", "state": "NONE", "expires_seconds": 43, "template": true,
                "pe_name": "sip", "pe_data": "call-1-a84b4c76e66710@client.example",
            ],
        ]
        let received = try await withServer({ request, writer in
            #expect(request.arguments == ["vip": "10.0.0.100"])
            for connection in connections { try await writer.write(connection) }
        }) { path in
            try await ControlClient.objects(
                of: ControlRequest(command: "conns", arguments: ["vip": "10.0.0.100"]),
                socketPath: path
            )
        }
        #expect(received == connections)
        let expected = """
            IPVS connection entries
            pro expire state       source             virtual            destination        pe name          pe_data
            TCP 14:41  ESTABLISHED 10.0.0.10:52464    10.0.0.100:8080    10.0.0.22:8080
            UDP 00:43  NONE        10.0.0.10:0        10.0.0.100:5060    10.0.0.21:5060   sip                call-1-a84b4c76e66710@client.example
            """
        #expect(ConnectionTableText.render(received) == expected)
        #expect(
            ConnectionTableText.render(Array(received.prefix(1)))
                == """
                IPVS connection entries
                pro expire state       source             virtual            destination
                TCP 14:41  ESTABLISHED 10.0.0.10:52464    10.0.0.100:8080    10.0.0.22:8080
                """
        )
    }

    @Test("stats: each object is one compact line with sorted keys")
    func statsLines() async throws {
        let lines = try await withServer({ request, writer in
            #expect(request.arguments["follow"] == nil)
            try await writer.write(["sync.lag_ms_p99": 0.4, "mirror.size": 42, "sync.entries_in": 1000])
        }) { path in
            try await ControlClient.objects(of: ControlRequest(command: "stats"), socketPath: path).map(\.jsonText)
        }
        #expect(lines == [#"{"mirror.size":42,"sync.entries_in":1000,"sync.lag_ms_p99":0.4}"#])
    }
}
