import Control
import Foundation
import Testing

@Suite("JSON values and requests")
struct JSONValueTests {
    @Test("a value prints compact on one line with sorted keys, whole numbers without a fraction")
    func text() {
        let value: JSONValue = [
            "z": 1, "a": [true, nil, 0.5, "line\nbreak \"quoted\""], "m": ["y": -3, "b": .number(.infinity)],
        ]
        #expect(value.jsonText == #"{"a":[true,null,0.5,"line\nbreak \"quoted\""],"m":{"b":null,"y":-3},"z":1}"#)
    }

    @Test("text parses back into the same value; integers stay integers, numbers with a fraction stay numbers")
    func roundTrip() throws {
        let value: JSONValue = [
            "n": 150, "x": 0.4, "zero": 0.0, "whole": 12.0, "s": "dira", "l": [1, 2], "o": ["ok": false],
            "nothing": nil, "yes": true, "one": 1,
        ]
        #expect(try JSONValue(jsonText: value.jsonText) == value)
        #expect(try JSONValue(jsonText: value.jsonText).jsonText == value.jsonText)
        #expect(try JSONValue(jsonText: "150") == .integer(150))
        #expect(try JSONValue(jsonText: "1.5") == .number(1.5))
        #expect(try JSONValue(jsonText: "0.0") == .number(0))
        #expect(try JSONValue(jsonText: "0.0").jsonText == "0.0")
        #expect(try JSONValue(jsonText: "1") == .integer(1) && JSONValue(jsonText: "true") == .bool(true))
        #expect(try JSONValue(jsonText: "0") == .integer(0) && JSONValue(jsonText: "false") == .bool(false))
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: encoded)["s"] == "dira")
    }

    @Test("a request reads with or without arguments and writes the same line as before, through JSONEncoder")
    func request() throws {
        let plain = try ControlRequest(line: #"{"command":"status"}"#)
        #expect(plain == ControlRequest(command: "status"))
        #expect(plain.jsonText == #"{"command":"status"}"#)
        let stats = try ControlRequest(line: #"{"command":"stats","arguments":{"follow":true,"interval_seconds":2}}"#)
        #expect(stats.arguments["follow"]?.boolValue == true && stats.arguments["interval_seconds"]?.integerValue == 2)
        #expect(stats.jsonText == #"{"arguments":{"follow":true,"interval_seconds":2},"command":"stats"}"#)
        #expect(try ControlRequest(line: stats.jsonText) == stats)
        let conns = ControlRequest(command: "conns", arguments: ["vip": "10.0.0.100", "service": "tcp:[fd00::1]:80"])
        #expect(conns.jsonText == #"{"arguments":{"service":"tcp:[fd00::1]:80","vip":"10.0.0.100"},"command":"conns"}"#)
        #expect(try ControlRequest(line: conns.jsonText) == conns)
        let half = ControlRequest(command: "stats", arguments: ["interval_seconds": 0.5])
        #expect(half.jsonText == #"{"arguments":{"interval_seconds":0.5},"command":"stats"}"#)
        #expect(try ControlRequest(line: #"{"command":"drill","arguments":null}"#) == ControlRequest(command: "drill"))
        #expect(try ControlRequest(line: " {\"command\" : \"status\"} \r") == plain)
    }

    struct BadRequest: Sendable, CustomTestStringConvertible {
        var line: String
        var message: String
        var testDescription: String { line }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(line: #"["status"]"#, message: #"the request is an array, not an object like {"command":"status"}"#),
        BadRequest(line: #""status""#, message: #"the request is a string, not an object like {"command":"status"}"#),
        BadRequest(line: "null", message: #"the request is null, not an object like {"command":"status"}"#),
        BadRequest(line: "42", message: #"the request is a number, not an object like {"command":"status"}"#),
        BadRequest(line: #"{"arguments":{}}"#, message: #"the request has no "command" (e.g. {"command":"status"})"#),
        BadRequest(line: #"{"command":7}"#, message: #"the request's "command" must be a non-empty string, found 7"#),
        BadRequest(line: #"{"command":""}"#, message: #"the request's "command" must be a non-empty string, found """#),
        BadRequest(
            line: #"{"command":null}"#,
            message: #"the request's "command" must be a non-empty string, found null"#
        ),
        BadRequest(
            line: #"{"command":["status"]}"#,
            message: #"the request's "command" must be a non-empty string, found ["status"]"#
        ),
        BadRequest(
            line: #"{"command":"conns","arguments":[1]}"#,
            message: #"the request's "arguments" must be an object, found an array"#
        ),
        BadRequest(
            line: #"{"command":"conns","arguments":"vip"}"#,
            message: #"the request's "arguments" must be an object, found a string"#
        ),
        BadRequest(
            line: #"{"command":"conns","args":{}}"#,
            message: "the request has unknown keys args (known: command, arguments)"
        ),
        BadRequest(
            line: #"{"command":"conns","z":1,"a":2}"#,
            message: "the request has unknown keys a, z (known: command, arguments)"
        ),
    ]

    @Test(
        "a request that is not what the protocol says is refused with a sentence naming the problem",
        arguments: badRequests
    )
    func badRequest(_ bad: BadRequest) {
        #expect(throws: ControlError(.malformed, bad.message)) { try ControlRequest(line: bad.line) }
    }

    @Test(
        "a request that is not JSON says so, and what Foundation found where",
        arguments: ["{command: status", "", "   ", #"{"command":"status"} x"#, #"{"command":"status""#, "nul", "01"]
    )
    func notJSON(_ line: String) {
        do {
            _ = try ControlRequest(line: line)
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .malformed)
            #expect(error.message.hasPrefix("the request is not valid JSON ("), "\(error.message)")
            #expect(error.message.count > "the request is not valid JSON ()".count, "\(error.message)")
        }
    }

    @Test("a request that is not UTF-8 says which byte starts no character")
    func notUTF8() throws {
        let bytes = Array(#"{"command":"st"#.utf8) + [0xFF] + Array(#"atus"}"#.utf8)
        #expect(
            throws: ControlError(.malformed, "the request is not UTF-8 text (byte 0xFF at byte 14 starts no character)")
        ) { try ControlRequest(jsonLine: bytes) }
        let truncated = Array(#"{"command":"caf"#.utf8) + [0xC3]
        #expect(
            throws: ControlError(.malformed, "the request is not UTF-8 text (byte 0xC3 at byte 15 starts no character)")
        ) { try ControlRequest(jsonLine: truncated) }
        #expect(try ControlRequest(jsonLine: Array(#"{"command":"café"}"#.utf8)).command == "café")
    }
}

@Suite("Reading JSON text through Foundation")
struct JSONReadingTests {
    @Test("every kind of value, escapes and surrogate pairs, numbers whole and not")
    func values() throws {
        let text =
            #" { "a" : [ true , false , null ] , "s" : "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" , "n" : -0.5e2 , "i" : -42 , "big" : 12345678901234567890 , "e" : {} , "l" : [] } "#
        let value = try JSONValue(jsonText: text)
        let expected: JSONValue = [
            "a": [true, false, nil], "s": "q\"\\/\u{8}\u{c}\n\r\té😀", "n": -50.0, "i": -42,
            "big": .number(12_345_678_901_234_567_168), "e": [:], "l": [],
        ]
        #expect(value == expected)
        #expect(try JSONValue(jsonText: value.jsonText) == value)
        #expect(try JSONValue(jsonText: "9223372036854775807") == .integer(.max))
    }

    @Test(
        "text that is not JSON is refused with Foundation's reason",
        arguments: [
            "", "{command: 1}", #"{"a" 1}"#, "[1 2]", #"{"a":1"#, #""abc"#, "01", "-", "tru", #"{"a":1} x"#,
            String(repeating: "[", count: 1000),
        ]
    )
    func refused(_ text: String) {
        do {
            _ = try JSONValue(jsonText: text)
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .malformed)
            #expect(error.message.hasPrefix("not valid JSON (") && error.message.hasSuffix(")"), "\(error.message)")
        }
    }

    @Test("bytes that are not UTF-8 are not valid JSON")
    func notUTF8() {
        #expect(throws: ControlError.self) { try JSONValue(jsonData: Data([0x22, 0xFF, 0x22])) }
    }
}
