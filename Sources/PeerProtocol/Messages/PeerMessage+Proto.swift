import Foundation
import NIOCore
import SwiftProtobuf

extension PeerMessage {
    /// Decodes one frame's payload, checking what protobuf cannot: a role, a sync ID in range, sequence numbers
    /// that start at 1.
    public init(serializedBytes bytes: [UInt8]) throws(PeerProtocolError) {
        let frame: Lvsync_Peer_V1_Frame
        do {
            frame = try Lvsync_Peer_V1_Frame(serializedBytes: bytes)
        } catch {
            throw PeerProtocolError(.malformedFrame("\(error)"))
        }
        switch frame.body {
        case .hello(let h):
            guard h.syncID <= UInt32(UInt8.max) else { throw Self.malformed("hello has sync ID \(h.syncID)") }
            let role: Role
            switch h.role {
            case .sender: role = .sender
            case .receiver: role = .receiver
            case .observer: role = .observer
            default: throw Self.malformed("hello has no role")
            }
            guard !h.node.isEmpty else { throw Self.malformed("hello has no node name") }
            self = .hello(
                Hello(
                    protocolVersion: h.protocolVersion,
                    node: h.node,
                    syncID: UInt8(h.syncID),
                    role: role,
                    position: Position(streamID: h.streamID, sequence: h.sequence),
                    heartbeatInterval: .milliseconds(Int64(h.heartbeatIntervalMs)),
                    maximumFrameLength: Int(h.maxFrameBytes)
                )
            )
        case .resume(let r):
            guard r.streamID != 0, r.nextSequence != 0 else { throw Self.malformed("resume without a position") }
            self = .resume(Resume(streamID: r.streamID, nextSequence: r.nextSequence))
        case .snapshotBegin(let b):
            guard b.streamID != 0 else { throw Self.malformed("snapshot without a stream") }
            self = .snapshotBegin(
                SnapshotBegin(streamID: b.streamID, baseSequence: b.baseSequence, entries: b.entries, reason: b.reason)
            )
        case .snapshotChunk(let c):
            self = .snapshotChunk(SnapshotChunk(messages: ByteBuffer(data: c.messages), entries: Int(c.entries)))
        case .snapshotEnd(let e):
            self = .snapshotEnd(SnapshotEnd(entries: e.entries))
        case .batch(let b):
            guard b.sequence != 0 else { throw Self.malformed("batch 0") }
            self = .batch(
                Batch(
                    sequence: b.sequence,
                    messages: ByteBuffer(data: b.messages),
                    entries: Int(b.entries),
                    capturedAtUnixNanoseconds: b.capturedAtUnixNs
                )
            )
        case .ack(let a):
            self = .ack(
                Ack(position: Position(streamID: a.streamID, sequence: a.sequence), appliedBytes: a.appliedBytes)
            )
        case .heartbeat(let h):
            self = .heartbeat(Heartbeat(sequence: h.sequence, sentAtUnixNanoseconds: h.sentAtUnixNs))
        case .goodbye(let g):
            self = .goodbye(reason: g.reason)
        case .advert(let a):
            guard !a.node.isEmpty else { throw Self.malformed("advert has no node name") }
            guard a.priority <= 255 else { throw Self.malformed("advert has priority \(a.priority)") }
            let state: ElectionState
            switch a.state {
            case .initialising: state = .initialising
            case .standby: state = .standby
            case .active: state = .active
            case .fault: state = .fault
            case .stopped: state = .stopped
            default: throw Self.malformed("advert has no election state")
            }
            self = .advert(
                Advert(
                    node: a.node,
                    priority: Int(a.priority),
                    state: state,
                    inSync: a.inSync,
                    incarnation: a.incarnation,
                    sequence: a.sequence,
                    handoverTo: a.handoverTo.isEmpty ? nil : a.handoverTo,
                    tableSize: a.tableSize,
                    position: Position(streamID: a.streamID, sequence: a.streamSequence),
                    kernelConnections: a.hasKernelConnections ? a.kernelConnections : nil
                )
            )
        case nil:
            throw Self.malformed("an empty frame")
        }
    }

    /// The frame's payload.
    public func serializedBytes() -> [UInt8] {
        var frame = Lvsync_Peer_V1_Frame()
        switch self {
        case .hello(let h):
            frame.hello = .with {
                $0.protocolVersion = h.protocolVersion
                $0.node = h.node
                $0.syncID = UInt32(h.syncID)
                switch h.role {
                case .sender: $0.role = .sender
                case .receiver: $0.role = .receiver
                case .observer: $0.role = .observer
                }
                $0.streamID = h.position.streamID
                $0.sequence = h.position.sequence
                $0.heartbeatIntervalMs = UInt32(clamping: h.heartbeatInterval.nanoseconds / 1_000_000)
                $0.maxFrameBytes = UInt32(clamping: h.maximumFrameLength)
            }
        case .resume(let r):
            frame.resume = .with {
                $0.streamID = r.streamID
                $0.nextSequence = r.nextSequence
            }
        case .snapshotBegin(let b):
            frame.snapshotBegin = .with {
                $0.streamID = b.streamID
                $0.baseSequence = b.baseSequence
                $0.entries = b.entries
                $0.reason = b.reason
            }
        case .snapshotChunk(let c):
            frame.snapshotChunk = .with {
                $0.messages = Data(c.messages.readableBytesView)
                $0.entries = UInt32(clamping: c.entries)
            }
        case .snapshotEnd(let e):
            frame.snapshotEnd = .with { $0.entries = e.entries }
        case .batch(let b):
            frame.batch = .with {
                $0.sequence = b.sequence
                $0.messages = Data(b.messages.readableBytesView)
                $0.entries = UInt32(clamping: b.entries)
                $0.capturedAtUnixNs = b.capturedAtUnixNanoseconds
            }
        case .ack(let a):
            frame.ack = .with {
                $0.streamID = a.position.streamID
                $0.sequence = a.position.sequence
                $0.appliedBytes = a.appliedBytes
            }
        case .heartbeat(let h):
            frame.heartbeat = .with {
                $0.sequence = h.sequence
                $0.sentAtUnixNs = h.sentAtUnixNanoseconds
            }
        case .goodbye(let reason):
            frame.goodbye = .with { $0.reason = reason }
        case .advert(let a):
            frame.advert = .with {
                $0.node = a.node
                $0.priority = UInt32(clamping: a.priority)
                switch a.state {
                case .initialising: $0.state = .initialising
                case .standby: $0.state = .standby
                case .active: $0.state = .active
                case .fault: $0.state = .fault
                case .stopped: $0.state = .stopped
                }
                $0.inSync = a.inSync
                $0.incarnation = a.incarnation
                $0.sequence = a.sequence
                $0.handoverTo = a.handoverTo ?? ""
                $0.tableSize = a.tableSize
                $0.streamID = a.position.streamID
                $0.streamSequence = a.position.sequence
                if let held = a.kernelConnections { $0.kernelConnections = held }
            }
        }
        // Every field is set from a valid Swift value, so serialization cannot fail.
        return (try? frame.serializedBytes()) ?? []
    }

    private static func malformed(_ detail: String) -> PeerProtocolError {
        PeerProtocolError(.malformedFrame(detail))
    }
}

extension ByteBuffer {
    init(data: Data) {
        self.init()
        writeBytes(data)
    }
}
