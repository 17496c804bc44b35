import ArgumentParser
import Foundation
import HostNetwork
import SyncWire
import Synchronization

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

    @Option(help: "The sync multicast group (the kernel filter passes only datagrams to it).")
    var group = "224.0.0.81"

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

    @Flag(help: "At the end, print the kernel's counts of frames the filter passed and dropped to stderr.")
    var stats = false

    @Flag(
        help: ArgumentHelp("Read with the relay's batched receive (recvmmsg into reused buffers).", visibility: .hidden)
    )
    var batch = false

    func validate() throws {
        guard count != nil || seconds != nil else { throw ValidationError("give --count or --seconds") }
        guard IPAddress(group) != nil else { throw ValidationError("--group '\(group)' is not an IP address") }
        guard ports >= 1, Int(port) + Int(ports) - 1 <= 65535 else { throw ValidationError("--ports out of range") }
    }

    func run() throws {
        // With --stats a signal ends the loop instead of the process, the counts are printed, and then the signal
        // ends the process as it would have (scripts see the same status).
        if stats {
            signal(SIGTERM, stopCapture)
            signal(SIGINT, stopCapture)
        }
        let capture = try PacketCapture(
            interface: interface,
            group: IPAddress(group)!,
            ports: port...(port + ports - 1)
        )
        let buffers = batch ? CaptureBuffers() : nil
        let clock = ContinuousClock()
        let deadline = seconds.map { clock.now + .milliseconds(Int($0 * 1000)) }
        var captured = 0
        var printer = DecodePrinter(json: true)
        while count.map({ captured < $0 }) ?? true, captureSignal.load(ordering: .relaxed) == 0 {
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
            if let buffers {
                let counts = try capture.receive(into: buffers, timeoutMilliseconds: wait) { payload, _ in
                    guard count.map({ captured < $0 }) ?? true else { return }
                    emit(Array(payload), index: captured, printer: &printer)
                    captured += 1
                }
                if counts.skipped > 0 {
                    warn("capture: skipped \(counts.skipped) frame(s) that were not whole sync datagrams")
                }
                continue
            }
            switch try capture.receive(timeoutMilliseconds: wait, packetIndex: captured) {
            case .datagram(let datagram):
                emit(datagram.payload, index: captured, printer: &printer)
                captured += 1
            case .skipped(let problem?):
                warn("capture: skipped a frame: \(problem)")
            case .skipped(nil), .timedOut:
                continue
            }
        }
        if stats {
            let counts = try capture.statistics()
            warn(
                "capture: \(captured) messages; the kernel filter passed \(counts.accepted) frames, dropped \(counts.dropped)"
            )
            let caught = captureSignal.load(ordering: .relaxed)
            if caught != 0 {
                signal(caught, SIG_DFL)
                raise(caught)
            }
        }
    }

    private func emit(_ payload: [UInt8], index: Int, printer: inout DecodePrinter) {
        if json {
            let decoded = SyncMessageDecoder.decode(payload)
            if let message = decoded.message {
                for c in message.connections { printer.entry(c, message: message, index: index) }
            }
            for var problem in decoded.problems {
                problem.messageIndex = index
                printer.error(problem.description)
            }
        } else {
            print(HexMessages.hex(payload))
        }
        fflush(nil)  // each message is on disk at once, even if the capture is stopped by a signal
    }

    private func warn(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// The signal that asked `lvsync capture --stats` to stop, 0 for none.
private let captureSignal = Atomic<Int32>(0)

private func stopCapture(_ signal: Int32) {
    captureSignal.store(signal, ordering: .relaxed)
}
