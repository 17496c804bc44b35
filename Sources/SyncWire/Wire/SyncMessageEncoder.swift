/// Encodes sync messages byte for byte as the kernel's master thread builds them (`ip_vs_sync_conn()`,
/// `ip_vs_sync_conn_v0()`): entries padded to 4 bytes except the last, options in the order SEQ_DATA, PE_DATA,
/// PE_NAME, then any kept unknown options.
///
/// Version 0 cannot carry IPv6 entries, persistence data or unknown options (encoding throws), nor timeouts and
/// firewall marks, which it drops as the kernel's version 0 sender does; flags are cut to their low 16 bits.
public enum SyncMessageEncoder {
    /// Encodes a whole message.
    public static func encode(_ message: SyncMessage) throws(SyncWireError) -> [UInt8] {
        let length = try encodedLength(of: message)
        return [UInt8](unsafeUninitializedCapacity: length) { storage, initialized in
            let raw = UnsafeMutableRawBufferPointer(storage)
            write(message, into: raw)
            initialized = length
        }
    }

    /// The number of bytes ``encode(_:)`` produces, after checking that every entry can be encoded.
    public static func encodedLength(of message: SyncMessage) throws(SyncWireError) -> Int {
        guard message.connections.count <= Int(UInt8.max) else {
            throw SyncWireError(.tooManyEntries(message.connections.count))
        }
        var length = message.version == .v1 ? SyncWireLayout.v1HeaderLength : SyncWireLayout.v0HeaderLength
        for (index, connection) in message.connections.enumerated() {
            do {
                let entry = try entryLength(of: connection, version: message.version)
                length = message.version == .v1 ? (length + 3) & ~3 : length
                length += entry
            } catch {
                throw SyncWireError(error.reason, entryIndex: index)
            }
        }
        guard length <= Int(UInt16.max) else { throw SyncWireError(.messageTooLong(length)) }
        return length
    }

    /// The length of one entry on the wire, without padding, after checking it can be encoded in `version`.
    public static func entryLength(
        of connection: SyncConnection,
        version: SyncProtocolVersion
    ) throws(SyncWireError) -> Int {
        guard connection.hasOneAddressFamily else { throw SyncWireError(.mixedAddressFamilies) }
        let family = connection.family
        guard let extras = connection.extras else {
            switch version {
            case .v1: return family == .inet ? SyncWireLayout.v1IPv4EntryLength : SyncWireLayout.v1IPv6EntryLength
            case .v0:
                guard family == .inet else { throw SyncWireError(.notRepresentableInV0("IPv6 entries")) }
                guard connection.flags.isDisjoint(with: .sequenceMask) else {
                    throw SyncWireError(.sequenceFlagsWithoutData)
                }
                return SyncWireLayout.v0EntryLength
            }
        }
        _ = extras
        switch version {
        case .v0:
            guard family == .inet else { throw SyncWireError(.notRepresentableInV0("IPv6 entries")) }
            guard connection.persistence == nil else {
                throw SyncWireError(.notRepresentableInV0("persistence data"))
            }
            guard connection.unknownOptions.isEmpty else { throw SyncWireError(.notRepresentableInV0("options")) }
            let hasSequenceFlags = !connection.flags.isDisjoint(with: .sequenceMask)
            switch (hasSequenceFlags, connection.sequence != nil) {
            case (true, true): return SyncWireLayout.v0EntryWithSequenceLength
            case (false, false): return SyncWireLayout.v0EntryLength
            case (true, false): throw SyncWireError(.sequenceFlagsWithoutData)
            case (false, true): throw SyncWireError(.notRepresentableInV0("sequence data without sequence flags"))
            }
        case .v1:
            var length = family == .inet ? SyncWireLayout.v1IPv4EntryLength : SyncWireLayout.v1IPv6EntryLength
            if connection.sequence != nil { length += 2 + SyncWireLayout.sequenceOptionsLength }
            if let persistence = connection.persistence {
                let data = persistence.data.count
                let name = persistence.engine.utf8.count
                guard data <= PersistenceData.maximumDataLength else {
                    throw SyncWireError(.persistenceDataLength(data))
                }
                guard name <= PersistenceData.maximumNameLength, name > 0 else {
                    throw SyncWireError(.persistenceNameLength(name))
                }
                if data > 0 { length += 2 + data }
                length += 2 + name
            }
            for option in connection.unknownOptions {
                guard (1...255).contains(option.payload.count) else {
                    throw SyncWireError(.unknownOptionLength(option.payload.count))
                }
                length += 2 + option.payload.count
            }
            guard length <= SyncWireLayout.maximumEntryLength else { throw SyncWireError(.entryTooLong(length)) }
            return length
        }
    }

    /// Writes a message already checked by ``encodedLength(of:)`` into a buffer at least that long.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func write(_ message: SyncMessage, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = UInt8(truncatingIfNeeded: message.connections.count)
        var offset: Int
        switch message.version {
        case .v1:
            buffer[0] = 0
            buffer[1] = message.syncID
            buffer[4] = count
            buffer[5] = 1
            buffer.storeBE16(0, at: 6)
            offset = SyncWireLayout.v1HeaderLength
            message.connections.withUnsafeBufferPointer { connections in
                for index in connections.indices {
                    while offset & 3 != 0 {
                        buffer[offset] = 0
                        offset += 1
                    }
                    offset += writeV1Entry(connections[index], into: buffer, at: offset)
                }
            }
        case .v0:
            buffer[0] = count
            buffer[1] = message.syncID
            offset = SyncWireLayout.v0HeaderLength
            message.connections.withUnsafeBufferPointer { connections in
                for index in connections.indices {
                    offset += writeV0Entry(connections[index], into: buffer, at: offset)
                }
            }
        }
        buffer.storeBE16(UInt16(truncatingIfNeeded: offset), at: 2)
        return offset
    }

    /// The relay's hot path: writes a version 1 message of entries that carry no options (most do not) into
    /// `buffer`, which must hold 8 + 72 × `entries.count` bytes; at most 255 entries.
    /// - Returns: the number of bytes written.
    @discardableResult
    public static func writeV1(
        syncID: UInt8,
        entries: UnsafeBufferPointer<SyncEntry>,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var writer = SyncMessageWriter(syncID: syncID, into: buffer)
        for index in entries.indices {
            let appended = writer.append(entries[index])
            precondition(appended, "the buffer holds the entries")
        }
        return writer.finish()
    }

    @inline(__always)
    static func writeV1Fixed(_ e: SyncEntry, into b: UnsafeMutableRawBufferPointer, at p: Int) -> Int {
        let length = e.isIPv6 ? SyncWireLayout.v1IPv6EntryLength : SyncWireLayout.v1IPv4EntryLength
        b[p] = e.isIPv6 ? 1 : 0
        b[p + 1] = e.ipProtocol.rawValue
        b.storeBE16(UInt16(length), at: p + 2)
        b.storeBE32(e.flags.rawValue, at: p + 4)
        b.storeBE16(e.state.rawValue, at: p + 8)
        b.storeBE16(e.clientPort, at: p + 10)
        b.storeBE16(e.virtualPort, at: p + 12)
        b.storeBE16(e.destinationPort, at: p + 14)
        b.storeBE32(e.fwmark, at: p + 16)
        b.storeBE32(e.timeout, at: p + 20)
        if e.isIPv6 {
            b.storeBE64(e.clientAddress.high, at: p + 24)
            b.storeBE64(e.clientAddress.low, at: p + 32)
            b.storeBE64(e.virtualAddress.high, at: p + 40)
            b.storeBE64(e.virtualAddress.low, at: p + 48)
            b.storeBE64(e.destinationAddress.high, at: p + 56)
            b.storeBE64(e.destinationAddress.low, at: p + 64)
        } else {
            b.storeBE32(UInt32(truncatingIfNeeded: e.clientAddress.low), at: p + 24)
            b.storeBE32(UInt32(truncatingIfNeeded: e.virtualAddress.low), at: p + 28)
            b.storeBE32(UInt32(truncatingIfNeeded: e.destinationAddress.low), at: p + 32)
        }
        return length
    }

    @inline(__always)
    static func writeV1Entry(_ c: SyncConnection, into b: UnsafeMutableRawBufferPointer, at p: Int) -> Int {
        // encodedLength(of:) has checked that the addresses are of one family, so the entry exists.
        let fixed = writeV1Fixed(c.entry!, into: b, at: p)
        guard let extras = c.extras else { return fixed }
        var q = p + fixed
        if let sequence = extras.sequence {
            b[q] = SyncWireLayout.optionSequenceData
            b[q + 1] = UInt8(SyncWireLayout.sequenceOptionsLength)
            writeSequence(sequence, into: b, at: q + 2, bigEndian: true)
            q += 2 + SyncWireLayout.sequenceOptionsLength
        }
        if let persistence = extras.persistence {
            if !persistence.data.isEmpty {
                b[q] = SyncWireLayout.optionPersistenceData
                b[q + 1] = UInt8(persistence.data.count)
                b.storeBytes(persistence.data, at: q + 2)
                q += 2 + persistence.data.count
            }
            let name = Array(persistence.engine.utf8)
            b[q] = SyncWireLayout.optionPersistenceName
            b[q + 1] = UInt8(name.count)
            b.storeBytes(name, at: q + 2)
            q += 2 + name.count
        }
        for option in extras.unknownOptions {
            b[q] = option.type
            b[q + 1] = UInt8(option.payload.count)
            b.storeBytes(option.payload, at: q + 2)
            q += 2 + option.payload.count
        }
        b.storeBE16(UInt16(q - p), at: p + 2)
        return q - p
    }

    @inline(__always)
    static func writeV0Entry(_ c: SyncConnection, into b: UnsafeMutableRawBufferPointer, at p: Int) -> Int {
        b[p] = 0
        b[p + 1] = c.ipProtocol.rawValue
        b.storeBE16(c.clientPort, at: p + 2)
        b.storeBE16(c.virtualPort, at: p + 4)
        b.storeBE16(c.destinationPort, at: p + 6)
        // Version 0 is IPv4 only (encodedLength(of:) checked): the address is in the low 32 bits.
        b.storeBE32(UInt32(truncatingIfNeeded: c.clientAddress.low), at: p + 8)
        b.storeBE32(UInt32(truncatingIfNeeded: c.virtualAddress.low), at: p + 12)
        b.storeBE32(UInt32(truncatingIfNeeded: c.destinationAddress.low), at: p + 16)
        b.storeBE16(UInt16(truncatingIfNeeded: c.flags.rawValue), at: p + 20)
        b.storeBE16(c.state.rawValue, at: p + 22)
        guard let sequence = c.extras?.sequence else { return SyncWireLayout.v0EntryLength }
        writeSequence(sequence, into: b, at: p + SyncWireLayout.v0EntryLength, bigEndian: false)
        return SyncWireLayout.v0EntryWithSequenceLength
    }

    @inline(__always)
    static func writeSequence(
        _ s: SequenceOptions,
        into b: UnsafeMutableRawBufferPointer,
        at o: Int,
        bigEndian: Bool
    ) {
        let words = [
            s.inbound.initialSequence, s.inbound.delta, s.inbound.previousDelta,
            s.outbound.initialSequence, s.outbound.delta, s.outbound.previousDelta,
        ]
        for (i, word) in words.enumerated() {
            if bigEndian { b.storeBE32(word, at: o + 4 * i) } else { b.storeLE32(word, at: o + 4 * i) }
        }
    }
}
