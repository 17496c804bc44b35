import Daemon
import Foundation
import Logging
import Prometheus
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A pipe: `(read, write)`.
private func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    return (fds[0], fds[1])
}

/// Everything readable from `fd` now (the descriptor is made non-blocking).
private func readAvailable(_ fd: Int32) -> String {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Waits (without a time limit of its own: the test's is the bound) until `condition` holds.
private func waitFor(_ condition: () -> Bool) {
    while !condition() { usleep(1000) }
}

@Suite("The log output: a bounded queue and a writer thread that never blocks or ends the daemon")
struct LogOutputTests {
    @Test("lines reach the descriptor in order, one per line", .timeLimit(.minutes(1)))
    func writes() throws {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(readEnd) }
        let output = LogOutput(fileDescriptor: writeEnd)
        for index in 0..<100 { output.write("line \(index)", level: .info) }
        #expect(output.flush(within: .seconds(30)))
        #expect(output.close(within: .seconds(30)))
        close(writeEnd)
        #expect(readAvailable(readEnd) == (0..<100).map { "line \($0)\n" }.joined())
        #expect(output.dropped(.writeError) == 0 && output.dropped(.queueFull) == 0)
    }

    @Test("lines from several threads never interleave and none is lost", .timeLimit(.minutes(1)))
    func concurrentWriters() throws {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(readEnd) }
        // A reader that reads to the end, so that the pipe never fills.
        let received = Mutex<[UInt8]>([])
        let finished = DispatchSemaphore(value: 0)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                received.withLock { $0 += buffer[0..<n] }
            }
            finished.signal()
        }.start()
        let output = LogOutput(fileDescriptor: writeEnd)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for index in 0..<1000 { output.write("thread \(thread) line \(index)", level: .info) }
        }
        #expect(output.close(within: .seconds(30)))
        close(writeEnd)
        finished.wait()
        let lines = String(decoding: received.withLock { $0 }, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 4000)
        for thread in 0..<4 {
            let own = lines.filter { $0.hasPrefix("thread \(thread) ") }
            #expect(own.elementsEqual((0..<1000).map { "thread \(thread) line \($0)" }) { $0 == $1 })
        }
    }

    @Test(
        "a pipe whose reader is gone: every line is dropped and counted, the writer keeps going",
        .timeLimit(.minutes(1))
    )
    func closedPipe() throws {
        let (readEnd, writeEnd) = try makePipe()
        close(readEnd)
        let registry = PrometheusCollectorRegistry()
        let output = LogOutput(fileDescriptor: writeEnd, metrics: PrometheusMetricsFactory(registry: registry))
        for index in 0..<50 { output.write("line \(index)", level: .warning) }
        #expect(output.flush(within: .seconds(30)))
        #expect(output.dropped(.writeError) == 50)
        // Still running: later lines are tried (and dropped) too.
        output.write("one more", level: .error)
        #expect(output.flush(within: .seconds(30)))
        #expect(output.dropped(.writeError) == 51)
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        let exposition = String(decoding: bytes, as: UTF8.self)
        #expect(exposition.contains(#"lvsync_log_lines_dropped_total{reason="write_error"} 51"#), "\(exposition)")
        #expect(output.close(within: .seconds(30)))
        close(writeEnd)
    }

    @Test(
        "a full disk (/dev/full): lines are dropped and counted; the same descriptor recovers",
        .timeLimit(.minutes(1))
    )
    func fullDiskRecovers() throws {
        let full = open("/dev/full", O_WRONLY)
        try #require(full >= 0)
        let (readEnd, writeEnd) = try makePipe()
        defer {
            close(readEnd)
            close(writeEnd)
        }
        let output = LogOutput(fileDescriptor: full)
        for index in 0..<20 { output.write("lost \(index)", level: .info) }
        #expect(output.flush(within: .seconds(30)))
        #expect(output.dropped(.writeError) == 20)
        // The space comes back: the same descriptor number now leads somewhere that takes the lines.
        try #require(dup2(writeEnd, full) == full)
        output.write("kept", level: .info)
        #expect(output.flush(within: .seconds(30)))
        #expect(output.dropped(.writeError) == 20)
        #expect(output.close(within: .seconds(30)))
        close(full)
        #expect(readAvailable(readEnd) == "kept\n")
    }

    @Test(
        "a reader that never reads: the queue fills, then lines are dropped and counted, the caller never waits",
        .timeLimit(.minutes(1))
    )
    func fullQueueDrops() throws {
        let (readEnd, writeEnd) = try makePipe()
        // Fill the pipe first, so that the writer's next write blocks.
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        let filler = [UInt8](repeating: 0x2E, count: 4096)
        while write(writeEnd, filler, filler.count) > 0 {}
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) & ~O_NONBLOCK)
        let registry = PrometheusCollectorRegistry()
        let output = LogOutput(
            fileDescriptor: writeEnd,
            lineCapacity: 16,
            metrics: PrometheusMetricsFactory(registry: registry)
        )
        output.write("taken by the writer, which then blocks", level: .info)
        waitFor { output.queuedLines == 0 }
        // The writer is stuck in write(2); these return at once: 16 queued, the rest dropped.
        for index in 0..<100 { output.write("line \(index)", level: .info) }
        #expect(output.queuedLines == 16)
        #expect(output.dropped(.queueFull) == 84)
        // A byte limit too: a line larger than the queue's bytes is dropped even with lines to spare.
        let small = LogOutput(fileDescriptor: writeEnd, lineCapacity: 100, byteCapacity: 64)
        small.write(String(repeating: "x", count: 100), level: .info)
        #expect(small.dropped(.queueFull) == 1)
        #expect(small.close(within: .seconds(30)))
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        let exposition = String(decoding: bytes, as: UTF8.self)
        #expect(exposition.contains(#"lvsync_log_lines_dropped_total{reason="queue_full"} 84"#), "\(exposition)")
        // The reader goes away: the blocked write and the queued lines fail with EPIPE, the writer ends.
        close(readEnd)
        #expect(output.close(within: .seconds(30)))
        #expect(output.dropped(.writeError) == 17)
        close(writeEnd)
    }

    @Test("with the journal, each line starts with its priority")
    func priorityPrefix() throws {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(readEnd) }
        let output = LogOutput(fileDescriptor: writeEnd, prefixesPriority: true)
        for level in Logger.Level.allCases { output.write("\(level)", level: level) }
        #expect(output.close(within: .seconds(30)))
        close(writeEnd)
        #expect(
            readAvailable(readEnd)
                == "<7>trace\n<7>debug\n<6>info\n<5>notice\n<4>warning\n<3>error\n<2>critical\n"
        )
    }
}

@Suite("The journal stream: the priority prefix and JOURNAL_STREAM")
struct JournalStreamTests {
    @Test("levels map to sd-daemon priorities")
    func priorities() {
        let expected: [(Logger.Level, String)] = [
            (.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"), (.warning, "<4>"), (.error, "<3>"),
            (.critical, "<2>"),
        ]
        for (level, prefix) in expected { #expect(JournalStream.prefix(for: level) == prefix) }
    }

    @Test("JOURNAL_STREAM matches only the same device and inode")
    func matching() {
        #expect(JournalStream.matches(environment: "8:12345", device: 8, inode: 12345))
        #expect(!JournalStream.matches(environment: "8:12345", device: 8, inode: 12346))
        #expect(!JournalStream.matches(environment: "9:12345", device: 8, inode: 12345))
        #expect(!JournalStream.matches(environment: nil, device: 8, inode: 12345))
        for bad in ["", "8", "8:", ":1", "8:1:2", "a:b", "-1:2"] {
            #expect(!JournalStream.matches(environment: bad, device: 8, inode: 1), "\(bad)")
        }
    }

    @Test("a pipe is not the journal unless JOURNAL_STREAM names it")
    func descriptor() throws {
        let (readEnd, writeEnd) = try makePipe()
        defer {
            close(readEnd)
            close(writeEnd)
        }
        var status = stat()
        try #require(fstat(writeEnd, &status) == 0)
        defer { unsetenv("JOURNAL_STREAM") }
        setenv("JOURNAL_STREAM", "\(status.st_dev):\(status.st_ino + 1)", 1)
        #expect(!JournalStream.isConnected(fileDescriptor: writeEnd))
        setenv("JOURNAL_STREAM", "\(status.st_dev):\(status.st_ino)", 1)
        #expect(JournalStream.isConnected(fileDescriptor: writeEnd))
    }
}

/// A TextOutputStream that keeps what is written.
private final class Captured: TextOutputStream, @unchecked Sendable {
    let lock = NSLock()
    var text = ""
    func write(_ string: String) { lock.withLock { text += string } }
}

@Suite("The text log handler")
struct TextLogHandlerTests {
    @Test("lays a line out exactly as swift-log's StreamLogHandler does")
    func sameAsStreamLogHandler() throws {
        let captured = Captured()
        var stream = StreamLogHandler(label: "lvsync", stream: captured, metadataProvider: nil)
        stream.metadata = ["node": "dira"]
        let event = LogEvent(
            level: .warning,
            message: "a heartbeat datagram was refused",
            metadata: ["from": "[IPv4]10.0.0.2/10.0.0.2:7000", "count": "3", "list": ["a", "b"], "node": "dirb"],
            source: "Daemon",
            file: #fileID,
            function: #function,
            line: #line
        )
        let before = time(nil)
        stream.log(event: event)
        let after = time(nil)
        let streamLine = captured.text
        let timestamp = try #require(streamLine.split(separator: " ").first.map(String.init))
        #expect([TextLogHandler.timestamp(before), TextLogHandler.timestamp(after)].contains(timestamp))
        let ours = TextLogHandler.line(
            timestamp: timestamp,
            level: .warning,
            label: "lvsync",
            metadata: ["node": "dirb", "from": "[IPv4]10.0.0.2/10.0.0.2:7000", "count": "3", "list": ["a", "b"]],
            source: "Daemon",
            message: "a heartbeat datagram was refused"
        )
        #expect(ours + "\n" == streamLine)
        // No metadata, and no label.
        let plain = Captured()
        StreamLogHandler(label: "", stream: plain, metadataProvider: nil)
            .log(
                event: LogEvent(
                    level: .info,
                    message: "hello",
                    metadata: nil,
                    source: "S",
                    file: "",
                    function: "",
                    line: 0
                )
            )
        let plainStamp = try #require(plain.text.split(separator: " ").first.map(String.init))
        let plainLine = TextLogHandler.line(
            timestamp: plainStamp,
            level: .info,
            label: "",
            metadata: [:],
            source: "S",
            message: "hello"
        )
        #expect(plainLine + "\n" == plain.text)
    }

    @Test("the handler merges its metadata under the event's and writes through the output")
    func handlerWrites() throws {
        let (readEnd, writeEnd) = try makePipe()
        defer { close(readEnd) }
        let output = LogOutput(fileDescriptor: writeEnd)
        var handler = TextLogHandler(label: "lvsync", output: output, metadataProvider: nil)
        handler.metadata = ["node": "dira", "role": "standby"]
        handler.log(
            event: LogEvent(
                level: .notice,
                message: "went active",
                metadata: ["role": "active"],
                source: "Daemon",
                file: "",
                function: "",
                line: 0
            )
        )
        #expect(output.close(within: .seconds(30)))
        close(writeEnd)
        let line = readAvailable(readEnd)
        #expect(line.hasSuffix(" notice lvsync: node=dira role=active [Daemon] went active\n"), "\(line)")
    }
}
