import ArgumentParser
import Foundation
import HostNetwork
import SyncWire

/// `lvsync capture`: capture the kernel master's sync messages on the sync interface.
struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture the local kernel master's sync messages (AF_PACKET on the sync interface).",
        discussion: """
            Prints one message per line as hex (the input of `lvsync decode --hex` and `lvsync replay --hex`), \
            or with --json one JSON object per decoded entry. Stops after --count messages or --seconds.
            """
    )

    @Option(help: "The interface the kernel master sync daemon sends on (a dummy such as lvsync0).")
    var interface: String

    @Option(help: "The sync UDP base port.")
    var port: UInt16 = 8848

    @Option(help: "The number of sync ports (the kernel's sync_ports): base to base + N - 1.")
    var ports: UInt16 = 1

    @Option(help: "Stop after this many messages.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var seconds: Double?

    @Flag(help: "Decode and print JSON lines instead of hex.")
    var json = false

    func validate() throws {
        guard count != nil || seconds != nil else { throw ValidationError("give --count or --seconds") }
        guard ports >= 1, Int(port) + Int(ports) - 1 <= 65535 else { throw ValidationError("--ports out of range") }
    }

    func run() throws {
        let capture = try PacketCapture(interface: interface, ports: port...(port + ports - 1))
        let clock = ContinuousClock()
        let deadline = seconds.map { clock.now + .milliseconds(Int($0 * 1000)) }
        var captured = 0
        var printer = DecodePrinter(json: true)
        while count.map({ captured < $0 }) ?? true {
            var wait: Int32 = 200
            if let deadline {
                let left = deadline - clock.now
                if left <= .zero { break }
                wait = Int32(
                    min(
                        200,
                        max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
                    )
                )
            }
            switch try capture.receive(timeoutMilliseconds: wait, packetIndex: captured) {
            case .datagram(let datagram):
                if json {
                    let decoded = SyncMessageDecoder.decode(datagram.payload)
                    if let message = decoded.message {
                        for c in message.connections { printer.entry(c, message: message, index: captured) }
                    }
                    for var problem in decoded.problems {
                        problem.messageIndex = captured
                        printer.error(problem.description)
                    }
                } else {
                    print(HexMessages.hex(datagram.payload))
                }
                captured += 1
                fflush(nil)  // each message is on disk at once, even if the capture is stopped by a signal
            case .skipped(let problem?):
                FileHandle.standardError.write(Data("capture: skipped a frame: \(problem)\n".utf8))
            case .skipped(nil), .timedOut:
                continue
            }
        }
    }
}
