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
        var length = message.version == .v1 ? Header.length : SyncWireLayout.HeaderV0.length
        for (index, connection) in message.connections.enumerated() {
            do {
                let entry = try entryLength(of: connection, version: message.version)
                length = message.version == .v1 ? SyncWireLayout.aligned(length) : length
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
            case .v1: return family == .inet ? V4.length : V6.length
            case .v0:
                guard family == .inet else { throw SyncWireError(.notRepresentableInV0("IPv6 entries")) }
                guard connection.flags.isDisjoint(with: .sequenceMask) else {
                    throw SyncWireError(.sequenceFlagsWithoutData)
                }
                return V0.length
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
            case (true, true): return V0.lengthWithSequence
            case (false, false): return V0.length
            case (true, false): throw SyncWireError(.sequenceFlagsWithoutData)
            case (false, true): throw SyncWireError(.notRepresentableInV0("sequence data without sequence flags"))
            }
        case .v1:
            var length = family == .inet ? V4.length : V6.length
            if connection.sequence != nil { length += Option.headerLength + SyncWireLayout.SequenceData.length }
            if let persistence = connection.persistence {
                let data = persistence.data.count
                let name = persistence.engine.utf8.count
                guard data <= PersistenceData.maximumDataLength else {
                    throw SyncWireError(.persistenceDataLength(data))
                }
                guard name <= PersistenceData.maximumNameLength, name > 0 else {
                    throw SyncWireError(.persistenceNameLength(name))
                }
                if data > 0 { length += Option.headerLength + data }
                length += Option.headerLength + name
            }
            for option in connection.unknownOptions {
                guard (1...255).contains(option.payload.count) else {
                    throw SyncWireError(.unknownOptionLength(option.payload.count))
                }
                length += Option.headerLength + option.payload.count
            }
            guard length <= Int(Connection.sizeMask) else { throw SyncWireError(.entryTooLong(length)) }
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
            buffer[Header.reserved] = 0
            buffer[Header.syncID] = message.syncID
            buffer[Header.count] = count
            buffer[Header.version] = SyncProtocolVersion.v1.rawValue
            buffer.storeBE16(0, at: Header.spare)
            offset = Header.length
            message.connections.withUnsafeBufferPointer { connections in
                for index in connections.indices {
                    let entryStart = SyncWireLayout.aligned(offset)
                    while offset < entryStart {
                        buffer[offset] = 0
                        offset += 1
                    }
                    offset += writeV1Entry(connections[index], into: buffer, at: offset)
                }
            }
        case .v0:
            buffer[SyncWireLayout.HeaderV0.count] = count
            buffer[SyncWireLayout.HeaderV0.syncID] = message.syncID
            offset = SyncWireLayout.HeaderV0.length
            message.connections.withUnsafeBufferPointer { connections in
                for index in connections.indices {
                    offset += writeV0Entry(connections[index], into: buffer, at: offset)
                }
            }
        }
        // The size field is at the same place in both versions.
        buffer.storeBE16(UInt16(truncatingIfNeeded: offset), at: Header.size)
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
        let length = e.isIPv6 ? V6.length : V4.length
        b[p + Connection.type] = e.isIPv6 ? Connection.typeIPv6 : Connection.typeIPv4
        b[p + Connection.protocol] = e.ipProtocol.rawValue
        b.storeBE16(UInt16(length), at: p + Connection.versionAndSize)
        b.storeBE32(e.flags.rawValue, at: p + Connection.flags)
        b.storeBE16(e.state.rawValue, at: p + Connection.state)
        b.storeBE16(e.clientPort, at: p + Connection.clientPort)
        b.storeBE16(e.virtualPort, at: p + Connection.virtualPort)
        b.storeBE16(e.destinationPort, at: p + Connection.destinationPort)
        b.storeBE32(e.fwmark, at: p + Connection.fwmark)
        b.storeBE32(e.timeout, at: p + Connection.timeout)
        if e.isIPv6 {
            b.storeBE64(e.clientAddress.high, at: p + V6.clientAddress)
            b.storeBE64(e.clientAddress.low, at: p + V6.clientAddress + V6.lowHalf)
            b.storeBE64(e.virtualAddress.high, at: p + V6.virtualAddress)
            b.storeBE64(e.virtualAddress.low, at: p + V6.virtualAddress + V6.lowHalf)
            b.storeBE64(e.destinationAddress.high, at: p + V6.destinationAddress)
            b.storeBE64(e.destinationAddress.low, at: p + V6.destinationAddress + V6.lowHalf)
        } else {
            b.storeBE32(UInt32(truncatingIfNeeded: e.clientAddress.low), at: p + V4.clientAddress)
            b.storeBE32(UInt32(truncatingIfNeeded: e.virtualAddress.low), at: p + V4.virtualAddress)
            b.storeBE32(UInt32(truncatingIfNeeded: e.destinationAddress.low), at: p + V4.destinationAddress)
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
            writeOptionHeader(Option.sequenceData, length: SyncWireLayout.SequenceData.length, into: b, at: q)
            writeSequence(sequence, into: b, at: q + Option.headerLength, bigEndian: true)
            q += Option.headerLength + SyncWireLayout.SequenceData.length
        }
        if let persistence = extras.persistence {
            if !persistence.data.isEmpty {
                q += writeOption(Option.persistenceData, persistence.data, into: b, at: q)
            }
            q += writeOption(Option.persistenceName, Array(persistence.engine.utf8), into: b, at: q)
        }
        for option in extras.unknownOptions {
            q += writeOption(option.type, option.payload, into: b, at: q)
        }
        b.storeBE16(UInt16(q - p), at: p + Connection.versionAndSize)
        return q - p
    }

    @inline(__always)
    static func writeV0Entry(_ c: SyncConnection, into b: UnsafeMutableRawBufferPointer, at p: Int) -> Int {
        b[p + V0.reserved] = 0
        b[p + V0.protocol] = c.ipProtocol.rawValue
        b.storeBE16(c.clientPort, at: p + V0.clientPort)
        b.storeBE16(c.virtualPort, at: p + V0.virtualPort)
        b.storeBE16(c.destinationPort, at: p + V0.destinationPort)
        // Version 0 is IPv4 only (encodedLength(of:) checked): the address is in the low 32 bits.
        b.storeBE32(UInt32(truncatingIfNeeded: c.clientAddress.low), at: p + V0.clientAddress)
        b.storeBE32(UInt32(truncatingIfNeeded: c.virtualAddress.low), at: p + V0.virtualAddress)
        b.storeBE32(UInt32(truncatingIfNeeded: c.destinationAddress.low), at: p + V0.destinationAddress)
        b.storeBE16(UInt16(truncatingIfNeeded: c.flags.rawValue), at: p + V0.flags)
        b.storeBE16(c.state.rawValue, at: p + V0.state)
        guard let sequence = c.extras?.sequence else { return V0.length }
        writeSequence(sequence, into: b, at: p + V0.length, bigEndian: false)
        return V0.lengthWithSequence
    }

    @inline(__always)
    static func writeSequence(
        _ s: SequenceOptions,
        into b: UnsafeMutableRawBufferPointer,
        at o: Int,
        bigEndian: Bool
    ) {
        typealias Words = SyncWireLayout.SequenceData
        let store = { (word: UInt32, at: Int) in
            if bigEndian { b.storeBE32(word, at: o + at) } else { b.storeLE32(word, at: o + at) }
        }
        store(s.inbound.initialSequence, Words.inbound + Words.initialSequence)
        store(s.inbound.delta, Words.inbound + Words.delta)
        store(s.inbound.previousDelta, Words.inbound + Words.previousDelta)
        store(s.outbound.initialSequence, Words.outbound + Words.initialSequence)
        store(s.outbound.delta, Words.outbound + Words.delta)
        store(s.outbound.previousDelta, Words.outbound + Words.previousDelta)
    }

    @inline(__always)
    static func writeOptionHeader(_ type: UInt8, length: Int, into b: UnsafeMutableRawBufferPointer, at q: Int) {
        b[q + Option.type] = type
        b[q + Option.length] = UInt8(length)
    }

    /// Writes one option, header and payload.
    /// - Returns: the bytes written.
    @inline(__always)
    static func writeOption(
        _ type: UInt8,
        _ payload: [UInt8],
        into b: UnsafeMutableRawBufferPointer,
        at q: Int
    ) -> Int {
        writeOptionHeader(type, length: payload.count, into: b, at: q)
        b.storeBytes(payload, at: q + Option.headerLength)
        return Option.headerLength + payload.count
    }

    private typealias Header = SyncWireLayout.Header
    private typealias Connection = SyncWireLayout.Connection
    private typealias V4 = SyncWireLayout.ConnectionV4
    private typealias V6 = SyncWireLayout.ConnectionV6
    private typealias V0 = SyncWireLayout.ConnectionV0
    private typealias Option = SyncWireLayout.Option
}
