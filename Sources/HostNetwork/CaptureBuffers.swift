import CHostNetwork
import SyncWire

#if canImport(Glibc)
    import Glibc
#endif

/// Receive buffers for ``PacketCapture/receive(into:timeoutMilliseconds:_:)``, allocated once and reused for every
/// batch: one slot per datagram, each with its own `recvmmsg(2)` header. Owned by the one thread that reads.
public final class CaptureBuffers {
    /// The most datagrams one call hands over.
    public let slots: Int
    /// Bytes per slot; a longer frame is counted as skipped (the default holds any IP packet).
    public let bytesPerSlot: Int
    let storage: UnsafeMutableRawBufferPointer
    let headers: UnsafeMutableBufferPointer<CHostNetwork_mmsghdr>
    private let vectors: UnsafeMutableBufferPointer<iovec>
    private let addresses: UnsafeMutableBufferPointer<sockaddr_ll>

    /// Allocates `slots` × `bytesPerSlot` bytes (by default 16 × 64 KiB).
    public init(slots: Int = 16, bytesPerSlot: Int = 65536) {
        precondition(slots > 0 && bytesPerSlot > 0, "CaptureBuffers needs at least one slot of at least one byte")
        self.slots = slots
        self.bytesPerSlot = bytesPerSlot
        storage = .allocate(byteCount: slots * bytesPerSlot, alignment: 16)
        headers = .allocate(capacity: slots)
        vectors = .allocate(capacity: slots)
        addresses = .allocate(capacity: slots)
        for i in 0..<slots {
            vectors[i] = iovec(iov_base: storage.baseAddress! + i * bytesPerSlot, iov_len: bytesPerSlot)
        }
        reset()
    }

    deinit {
        storage.deallocate()
        headers.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    /// Re-arms every header (the kernel overwrites the lengths and flags).
    func reset() {
        for i in 0..<slots {
            addresses[i] = sockaddr_ll()
            var header = msghdr()
            header.msg_name = UnsafeMutableRawPointer(addresses.baseAddress! + i)
            header.msg_namelen = socklen_t(MemoryLayout<sockaddr_ll>.size)
            header.msg_iov = vectors.baseAddress! + i
            header.msg_iovlen = 1
            headers[i] = CHostNetwork_mmsghdr(msg_hdr: header, msg_len: 0)
        }
    }

    /// The packet in slot `i` as received, and whether it was outgoing and whole.
    func packet(_ i: Int) -> (bytes: UnsafeRawBufferPointer, usable: Bool) {
        let length = Int(headers[i].msg_len)
        let whole = headers[i].msg_hdr.msg_flags & Int32(MSG_TRUNC) == 0 && length <= bytesPerSlot
        let outgoing = addresses[i].sll_pkttype == UInt8(PACKET_OUTGOING)
        let bytes = UnsafeRawBufferPointer(
            rebasing: storage[(i * bytesPerSlot)..<(i * bytesPerSlot + min(length, bytesPerSlot))]
        )
        return (bytes, whole && outgoing)
    }
}

extension PacketCapture {
    /// What one ``receive(into:timeoutMilliseconds:_:)`` call did.
    public struct BatchCounts: Hashable, Sendable {
        /// Sync datagrams handed to the closure.
        public var datagrams: Int
        /// Frames passed over: not whole outgoing UDP datagrams to the group and ports (an IP fragment, a frame
        /// longer than a slot). The kernel filter lets few such frames through.
        public var skipped: Int

        /// Creates counts.
        public init(datagrams: Int = 0, skipped: Int = 0) {
            self.datagrams = datagrams
            self.skipped = skipped
        }
    }

    /// The relay's hot path: waits up to `timeoutMilliseconds` for the socket to wake, then receives up to
    /// `buffers.slots` frames with one `recvmmsg(2)` and calls `body` with the UDP payload (the sync message) and
    /// destination port of each sync datagram, in order. Nothing is allocated: `payload` points into `buffers` and is
    /// valid only during the call to `body`.
    /// - Returns: the counts; both zero when nothing arrived in time.
    @discardableResult
    public func receive(
        into buffers: CaptureBuffers,
        timeoutMilliseconds: Int32,
        _ body: (_ payload: UnsafeRawBufferPointer, _ port: UInt16) -> Void
    ) throws(HostNetworkError) -> BatchCounts {
        guard try waitReadable(timeoutMilliseconds) else { return BatchCounts() }
        buffers.reset()
        let received = CHostNetwork_recvmmsg(
            descriptor,
            buffers.headers.baseAddress,
            UInt32(buffers.slots),
            Int32(MSG_DONTWAIT)
        )
        if received < 0 {
            if Glibc.errno == EAGAIN || Glibc.errno == EINTR { return BatchCounts() }
            throw HostNetworkError(operation: "recvmmsg(AF_PACKET on \(interface))", errno: Glibc.errno)
        }
        var counts = BatchCounts()
        for i in 0..<Int(received) {
            let (packet, usable) = buffers.packet(i)
            guard usable, let found = UDPPayload.locate(in: packet, group: group, ports: ports) else {
                counts.skipped += 1
                continue
            }
            body(UnsafeRawBufferPointer(rebasing: packet[found.payload]), found.port)
            counts.datagrams += 1
        }
        return counts
    }
}
