import ArgumentParser
import Foundation
import SyncWire

/// Sync messages read from a file: hex lines or a pcap capture.
struct SyncMessageInput {
    /// One message's bytes and where it came from.
    struct Item {
        /// 0-based position among the messages of the input.
        var index: Int
        /// Where it is in the file, e.g. `line 4` or `packet 12`.
        var place: String
        var bytes: [UInt8]

        /// The problem's text with this message's index and place, e.g. `message 3 entry 2: … (packet 7)`.
        func describe(_ problem: SyncWireError) -> String {
            var problem = problem
            problem.messageIndex = index
            return "\(problem) (\(place))"
        }
    }

    var items: [Item] = []
    /// Problems reading the file around the messages (bad hex lines, damaged packets).
    var problems: [SyncWireError] = []

    /// Reads one message per line of hex.
    init(hexFile path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let parsed = HexMessages.parse(text)
        items = parsed.messages.enumerated().map {
            Item(index: $0.offset, place: "line \($0.element.line)", bytes: $0.element.bytes)
        }
        problems = parsed.problems
    }

    /// Reads the UDP datagrams of a pcap file, optionally only those to `port`.
    init(pcapFile path: String, port: UInt16?) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        let pcap = try PcapFile(bytes: [UInt8](data))
        let datagrams = pcap.datagrams.filter { port == nil || $0.destination.port == port }
        items = datagrams.enumerated().map {
            Item(index: $0.offset, place: "packet \($0.element.packetIndex)", bytes: $0.element.payload)
        }
        problems = pcap.problems
    }
}
