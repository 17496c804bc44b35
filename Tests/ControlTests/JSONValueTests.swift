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

    @Test("text parses back into the same value; integers stay integers")
    func roundTrip() throws {
        let value: JSONValue = ["n": 150, "x": 0.4, "s": "dira", "l": [1, 2], "o": ["ok": false], "nothing": nil]
        #expect(try JSONValue(jsonText: value.jsonText) == value)
        #expect(try JSONValue(jsonText: "150") == .integer(150))
        #expect(try JSONValue(jsonText: "1.5") == .number(1.5))
        let encoded = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: encoded) == value)
    }

    @Test("a request reads with or without arguments and writes the same way")
    func request() throws {
        let plain = try ControlRequest(line: #"{"command":"status"}"#)
        #expect(plain == ControlRequest(command: "status"))
        #expect(plain.jsonValue.jsonText == #"{"command":"status"}"#)
        let stats = try ControlRequest(line: #"{"command":"stats","arguments":{"follow":true,"interval_seconds":2}}"#)
        #expect(stats.arguments["follow"]?.boolValue == true && stats.arguments["interval_seconds"]?.integerValue == 2)
        #expect(try ControlRequest(line: stats.jsonValue.jsonText) == stats)
    }

    struct BadRequest: Sendable, CustomTestStringConvertible {
        var line: String
        var message: String
        var testDescription: String { line }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(line: #"["status"]"#, message: #"the request is an array, not an object like {"command":"status"}"#),
        BadRequest(line: #"{"arguments":{}}"#, message: #"the request has no "command" (e.g. {"command":"status"})"#),
        BadRequest(line: #"{"command":7}"#, message: #"the request's "command" must be a non-empty string, found 7"#),
        BadRequest(
            line: #"{"command":"conns","arguments":[1]}"#,
            message: #"the request's "arguments" must be an object, found an array"#
        ),
        BadRequest(
            line: #"{"command":"conns","args":{}}"#,
            message: "the request has unknown keys args (known: command, arguments)"
        ),
    ]

    @Test(
        "a request that is not what the protocol says is refused with a sentence naming the problem",
        arguments: badRequests
    )
    func badRequest(_ bad: BadRequest) {
        #expect(throws: ControlError(.malformed, bad.message)) { try ControlRequest(line: bad.line) }
    }

    @Test("a request that is not JSON says so")
    func notJSON() {
        do {
            _ = try ControlRequest(line: "{command: status")
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .malformed && error.message.hasPrefix("the request is not valid JSON"))
        }
    }
}

@Suite("Reading JSON text")
struct JSONParserTests {
    @Test("every kind of value, escapes and surrogate pairs, numbers whole and not")
    func values() throws {
        let text =
            #" { "a" : [ true , false , null ] , "s" : "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" , "n" : -0.5e2 , "i" : -42 , "big" : 12345678901234567890 , "e" : {} , "l" : [] } "#
        let value = try JSONValue(jsonText: text)
        let expected: JSONValue = [
            "a": [true, false, nil], "s": "q\"\\/\u{8}\u{c}\n\r\té😀", "n": -50.0, "i": -42,
            "big": .number(12_345_678_901_234_567_890), "e": [:], "l": [],
        ]
        #expect(value == expected)
        #expect(try JSONValue(jsonText: value.jsonText) == value)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var text: String
        var reason: String
        var testDescription: String { text }
    }

    static let bad: [Bad] = [
        Bad(text: "", reason: "the text ends where a value should be"),
        Bad(text: "{command: 1}", reason: "expected a member name in quotes, found 'c' at byte 1"),
        Bad(text: #"{"a" 1}"#, reason: "expected ':' after a member name, found '1' at byte 5"),
        Bad(text: "[1 2]", reason: "expected ',' or ']' in an array, found '2' at byte 3"),
        Bad(text: #"{"a":1"#, reason: "expected ',' or '}' in an object, found the end of the text"),
        Bad(text: #""abc"#, reason: "a string that does not end"),
        Bad(text: "01", reason: "text after the end of the value"),
        Bad(text: "-", reason: "expected a digit, found the end of the text"),
        Bad(text: "tru", reason: "unexpected 't' at byte 0"),
        Bad(text: #"{"a":1} x"#, reason: "text after the end of the value"),
        Bad(text: String(repeating: "[", count: 100), reason: "values nested more than 64 deep"),
    ]

    @Test("text that is not JSON is refused with what was found where", arguments: bad)
    func refused(_ bad: Bad) {
        #expect(throws: ControlError(.malformed, "not valid JSON (\(bad.reason))")) {
            try JSONValue(jsonText: bad.text)
        }
    }
}
