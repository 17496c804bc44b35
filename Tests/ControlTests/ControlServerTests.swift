import Control
import Foundation
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("The control socket: server and client over a real Unix socket")
struct ControlServerTests {
    @Test("a request reaches the responder and its objects come back, in order, until the end")
    func roundTrip() async throws {
        let objects = try await withServer({ request, writer in
            try await writer.write(["command": .string(request.command), "arguments": .object(request.arguments)])
            try await writer.write(["second": 2])
        }) { path in
            try await ControlClient.objects(
                of: ControlRequest(command: "status", arguments: ["x": 1]),
                socketPath: path
            )
        }
        #expect(objects == [["command": "status", "arguments": ["x": 1]], ["second": 2]])
    }

    @Test("a long reply, written one by one and in batches, arrives whole and in order")
    func longReply() async throws {
        let objects = try await withServer({ _, writer in
            for index in 0..<10_000 {
                try await writer.write(["index": .integer(Int64(index)), "client": "10.0.0.10:40000"])
            }
            for start in stride(from: 10_000, to: 20_000, by: 1000) {
                try await writer.write(
                    contentsOf: (start..<start + 1000).map { ["index": .integer(Int64($0)), "client": "10.0.0.10:1"] }
                )
            }
        }) { path in
            try await ControlClient.objects(of: ControlRequest(command: "conns"), socketPath: path)
        }
        #expect(objects.count == 20_000)
        #expect(objects.enumerated().allSatisfy { $0.element["index"]?.integerValue == Int64($0.offset) })
    }

    @Test("the socket is mode 0600 in a directory the server made 0755, and goes away when the server stops")
    func fileModes() async throws {
        let directory = try temporaryDirectory() + "/run"
        let path = directory + "/lvsync.sock"
        let modes = try await withServer(at: path, { _, _ in }) { path in (mode(of: path), mode(of: directory)) }
        #expect(modes.0 == 0o600)
        #expect(modes.1 == 0o755)
        #expect(mode(of: path) == nil)
    }

    @Test("a follow streams until the client leaves; the server's next write fails and the responder stops")
    func followUntilTheClientLeaves() async throws {
        let stopped = Handoff<ControlError.Kind?>()
        let received = try await withServer({ _, writer in
            var count: Int64 = 0
            do {
                while true {
                    count += 1
                    try await writer.write(["n": .integer(count)])
                    await Task.yield()
                }
            } catch let error as ControlError {
                stopped.send(error.kind)
                throw error
            }
        }) { path in
            let received = try await ControlClient.withReply(
                to: ControlRequest(command: "stats", arguments: ["follow": true]),
                socketPath: path
            ) { reply in
                var received: [JSONValue] = []
                for try await object in reply {
                    received.append(object)
                    if received.count == 3 { break }
                }
                return received
            }
            #expect(await stopped.receive() == .disconnected)
            return received
        }
        #expect(received == [["n": 1], ["n": 2], ["n": 3]])
    }

    @Test("a responder's ControlError reaches the client as the daemon's sentence")
    func daemonError() async throws {
        await #expect(throws: ControlError(.daemon, "unknown command \"dance\"")) {
            try await withServer({ request, writer in
                try await writer.write(["partial": true])
                throw ControlError.refused("unknown command \"\(request.command)\"")
            }) { path in
                try await ControlClient.objects(of: ControlRequest(command: "dance"), socketPath: path)
            }
        }
    }

    @Test("a malformed request gets an error line naming the problem, and the server goes on serving")
    func malformedRequest() async throws {
        try await withServer({ _, writer in try await writer.write(["ok": true]) }) { path in
            let notJSON = try await rawExchange("{\"command\": status}\n", at: path)
            #expect(notJSON.count == 1 && notJSON[0].hasPrefix(#"{"error":"the request is not valid JSON"#))
            let noCommand = try await rawExchange("{\"arguments\":{}}\n", at: path)
            #expect(noCommand == [#"{"error":"the request has no \"command\" (e.g. {\"command\":\"status\"})"}"#])
            let fine = try await rawExchange("{\"command\":\"status\"}\n", at: path)
            #expect(fine == [#"{"ok":true}"#, #"{"end":true}"#])
        }
    }

    @Test("a request that is not UTF-8, not JSON or of the wrong shape gets an error line; the server goes on")
    func malformedShapes() async throws {
        try await withServer({ _, writer in try await writer.write(["ok": true]) }) { path in
            let notUTF8 = try await rawExchange([Array(#"{"command":"st"#.utf8) + [0xFF, 0x0A]], at: path)
            #expect(
                notUTF8 == [#"{"error":"the request is not UTF-8 text (byte 0xFF at byte 14 starts no character)"}"#]
            )
            let wrongType = try await rawExchange(#"{"command":["status"]}"# + "\n", at: path)
            #expect(
                wrongType == [#"{"error":"the request's \"command\" must be a non-empty string, found [\"status\"]"}"#]
            )
            let arguments = try await rawExchange(#"{"command":"conns","arguments":"10.0.0.1"}"# + "\n", at: path)
            #expect(arguments == [#"{"error":"the request's \"arguments\" must be an object, found a string"}"#])
            let empty = try await rawExchange("\n", at: path)
            #expect(empty.count == 1 && empty[0].hasPrefix(#"{"error":"the request is not valid JSON ("#))
            let fine = try await rawExchange("{\"command\":\"status\"}\n", at: path)
            #expect(fine == [#"{"ok":true}"#, #"{"end":true}"#])
        }
    }

    @Test("a request in several writes, with CRLF, or without a newline before the client closes its side")
    func framing() async throws {
        try await withServer({ request, writer in try await writer.write(["command": .string(request.command)]) }) {
            path in
            let pieces = try await rawExchange(
                ["{\"comm", "and\":\"sta", "tus\"}\r\n"].map { Array($0.utf8) },
                at: path
            )
            #expect(pieces == [#"{"command":"status"}"#, #"{"end":true}"#])
            let unterminated = try await rawExchange([Array(#"{"command":"stats"}"#.utf8)], halfClose: true, at: path)
            #expect(unterminated == [#"{"command":"stats"}"#, #"{"end":true}"#])
            let nothing = try await rawExchange([Array("  ".utf8)], halfClose: true, at: path)
            // Blank, then closed: no request came (as before, the server says so to whoever is left).
            #expect(nothing == [#"{"error":"the connection ended before a request line arrived"}"#])
        }
    }

    @Test("a request longer than 64 KiB is refused without being read to its end")
    func oversizeRequest() async throws {
        try await withServer({ _, writer in try await writer.write(["ok": true]) }) { path in
            let huge = #"{"command":"status","arguments":{"pad":""# + String(repeating: "x", count: 70_000) + "\"}}\n"
            let reply = try await rawExchange(huge, at: path)
            #expect(reply == [#"{"error":"the request is longer than 65536 bytes without a newline"}"#])
            let unterminated = try await rawExchange(
                [Array(String(repeating: "x", count: 65_537).utf8)],
                halfClose: true,
                at: path
            )
            #expect(unterminated == [#"{"error":"the request is longer than 65536 bytes without a newline"}"#])
            let fine = try await rawExchange("{\"command\":\"status\"}\n", at: path)
            #expect(fine == [#"{"ok":true}"#, #"{"end":true}"#])
        }
    }

    @Test("a stale socket left behind is replaced")
    func staleSocket() async throws {
        let path = try temporaryDirectory() + "/lvsync.sock"
        try makeStaleSocket(at: path)
        #expect(isSocket(path))
        await #expect(throws: ControlError(.noDaemon, "no lvsync daemon is running (nothing answers at \(path))")) {
            try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path)
        }
        let objects = try await withServer(at: path, { _, writer in try await writer.write(["fresh": true]) }) { path in
            try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path)
        }
        #expect(objects == [["fresh": true]])
    }

    @Test("a second server refuses a path where a live daemon answers, and leaves its socket alone")
    func liveSocketRefused() async throws {
        try await withServer({ _, writer in try await writer.write(["first": true]) }) { path in
            await #expect(
                throws: ControlError(.anotherDaemon, "another lvsync runs (its control socket answers at \(path))")
            ) {
                _ = try await ControlServer.bind(path: path, responder: FakeResponder { _, _ in }, logger: testLogger)
            }
            let objects = try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path)
            #expect(objects == [["first": true]])
        }
    }

    @Test("a path that holds something other than a socket is refused and left alone")
    func notASocket() async throws {
        let path = try temporaryDirectory() + "/lvsync.sock"
        try "keep me".write(toFile: path, atomically: false, encoding: .utf8)
        await #expect(
            throws: ControlError(
                .unusablePath,
                "\(path) exists and is not a socket: remove it or configure another control socket path"
            )
        ) {
            _ = try await ControlServer.bind(path: path, responder: FakeResponder { _, _ in }, logger: testLogger)
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test("with no daemon, the client says so and where it looked")
    func noDaemon() async throws {
        let path = try temporaryDirectory() + "/lvsync.sock"
        await #expect(throws: ControlError(.noDaemon, "no lvsync daemon is running (nothing answers at \(path))")) {
            try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path)
        }
    }

    @Test("a responder cannot send an object that would read as the end of the reply")
    func writerRefusesEndShapes() async throws {
        let refused = Handoff<[ControlError]>()
        _ = try await withServer({ _, writer in
            var errors: [ControlError] = []
            for object: JSONValue in [["end": true], ["error": "x"], [1, 2]] {
                do { try await writer.write(object) } catch let error as ControlError { errors.append(error) }
            }
            refused.send(errors)
        }) { path in
            try await ControlClient.objects(of: ControlRequest(command: "status"), socketPath: path)
        }
        let errors = await refused.receive() ?? []
        #expect(errors.map(\.kind) == [.malformed, .malformed, .malformed])
    }
}
