// libFuzzer entry point for the SyncWire decoders. ops/fuzz.sh compiles it together with the SyncWire sources
// into one instrumented binary (swiftc -sanitize=fuzzer,address); it is not a SwiftPM target.

/// Feeds one input to every decoder. A trap or sanitizer report is a bug; rejections are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // Sync messages: whatever was accepted must re-encode, and decode again to the same entries.
    let decoded = SyncMessageDecoder.decode(bytes)
    for problem in decoded.problems { precondition(!problem.description.isEmpty) }
    if let message = decoded.message, let again = try? SyncMessageEncoder.encode(message) {
        let second = SyncMessageDecoder.decode(again)
        precondition(second.problems.allSatisfy { $0.consequence == .entrySkipped }, "re-encoded message is malformed")
        precondition(second.message?.connections.count ?? 0 <= message.connections.count)
    }

    // The same bytes with a correct size field, to get past the header check.
    if size >= 4, size <= 65535 {
        var sized = bytes
        sized[2] = UInt8(size >> 8)
        sized[3] = UInt8(size & 0xff)
        _ = SyncMessageDecoder.decode(sized)
    }

    // Text inputs: /proc tables and hex lines.
    let text = String(decoding: bytes, as: UTF8.self)
    _ = ProcConnTable(parsing: text)
    _ = HexMessages.parse(text)

    // Capture files.
    _ = try? PcapFile(bytes: bytes)
    return 0
}
