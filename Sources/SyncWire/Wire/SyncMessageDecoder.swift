/// The result of decoding one sync message: the entries the kernel's backup would apply, and every problem found.
public struct DecodedSyncMessage: Sendable {
    /// The message with the entries that passed the kernel's checks; nil when the header itself was rejected.
    public var message: SyncMessage?
    /// Problems in wire order: skipped entries, then at most one problem that ended decoding
    /// (its ``SyncWireError/consequence`` says which).
    public var problems: [SyncWireError]

    /// Whether the message decoded without any problem.
    public var isClean: Bool { message != nil && problems.isEmpty }
}

/// Decodes the kernel's IPVS sync messages, both versions, validating them as the kernel's backup thread does
/// (`ip_vs_process_message()`, `ip_vs_proc_sync_conn()`).
///
/// Decoding never traps on any input. A problem that makes the kernel skip an entry skips it and goes on; one
/// that makes the kernel drop the rest of the message stops there, keeping the entries already decoded.
public enum SyncMessageDecoder {
    @usableFromInline typealias Layout = SyncWireLayout

    /// Decodes one message (one UDP payload).
    public static func decode(_ bytes: some Collection<UInt8>) -> DecodedSyncMessage {
        let run = { (buffer: UnsafeRawBufferPointer) -> DecodedSyncMessage in
            var connections: [SyncConnection] = []
            var problems: [SyncWireError] = []
            let header = decode(buffer, into: &connections, problems: &problems)
            let message = header.map { SyncMessage(version: $0.version, syncID: $0.syncID, connections: connections) }
            return DecodedSyncMessage(message: message, problems: problems)
        }
        if let result = bytes.withContiguousStorageIfAvailable({ run(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes(run)
    }

    /// Decodes one message, appending its accepted entries to `connections` and its problems to `problems`.
    ///
    /// Reuse both arrays across messages to decode without allocating.
    /// - Returns: the header's version and sync ID, or nil when the header was rejected.
    public static func decode(
        _ buffer: UnsafeRawBufferPointer,
        into connections: inout [SyncConnection],
        problems: inout [SyncWireError]
    ) -> (version: SyncProtocolVersion, syncID: UInt8)? {
        visit(buffer, problems: &problems) { connections.append(copy $0) }
    }

    /// Decodes one message and calls `body` with each accepted entry, in wire order, without storing any.
    /// - Returns: the header's version and sync ID, or nil when the header was rejected.
    public static func visit(
        _ buffer: UnsafeRawBufferPointer,
        problems: inout [SyncWireError],
        _ body: (borrowing SyncConnection) -> Void
    ) -> (version: SyncProtocolVersion, syncID: UInt8)? {
        var version = SyncProtocolVersion.v1
        return visitEntries(buffer, problems: &problems) { entry, options in
            body(connection(entry, options: options, in: buffer, version: version))
        } header: {
            version = $0
        }
    }

    /// The rich value of an entry that ``visitEntries(_:problems:_:)`` accepted: its fixed part with its options
    /// read from `buffer` (version 1 TLVs, or version 0's sequence block).
    /// - Parameters:
    ///   - options: the byte range of the entry's options in `buffer`, as `visitEntries` passed it.
    ///   - version: the message's version (version 0 entries have no timeout and fwmark).
    public static func connection(
        _ entry: SyncEntry,
        options: Range<Int>,
        in buffer: UnsafeRawBufferPointer,
        version: SyncProtocolVersion
    ) -> SyncConnection {
        SyncConnection(entry, version: version, extras: extras(buffer, options, version: version))
    }

    /// The relay's hot path: decodes one message and calls `body` with the fixed part of each accepted entry and
    /// the byte range of its options in `buffer` (empty for most entries; already validated, read them with
    /// ``SyncConnection`` when needed). Nothing is allocated.
    /// - Returns: the header's version and sync ID, or nil when the header was rejected.
    @inlinable
    @discardableResult
    public static func visitEntries(
        _ buffer: UnsafeRawBufferPointer,
        problems: inout [SyncWireError],
        _ body: (SyncEntry, Range<Int>) -> Void
    ) -> (version: SyncProtocolVersion, syncID: UInt8)? {
        visitEntries(buffer, problems: &problems, body, header: { _ in })
    }

    @inlinable
    static func visitEntries(
        _ buffer: UnsafeRawBufferPointer,
        problems: inout [SyncWireError],
        _ body: (SyncEntry, Range<Int>) -> Void,
        header: (SyncProtocolVersion) -> Void
    ) -> (version: SyncProtocolVersion, syncID: UInt8)? {
        let length = buffer.count
        guard length >= Layout.HeaderV0.length else {
            problems.append(SyncWireError(.headerTooShort(length: length)))
            return nil
        }
        // The size and the sync ID are at the same places in both versions.
        let size = Int(buffer.be16(Layout.Header.size))
        guard size == length else {
            problems.append(SyncWireError(.sizeMismatch(headerSize: size, actualLength: length)))
            return nil
        }
        let syncID = buffer[Layout.Header.syncID]
        // The kernel takes any header that is not a clean version 1 header for version 0.
        if length >= Layout.Header.length, buffer[Layout.Header.version] == SyncProtocolVersion.v1.rawValue,
            buffer[Layout.Header.reserved] == 0, buffer.be16(Layout.Header.spare) == 0
        {
            header(.v1)
            decodeV1Entries(buffer, problems: &problems, body)
            return (.v1, syncID)
        }
        header(.v0)
        decodeV0Entries(buffer, problems: &problems, body)
        return (.v0, syncID)
    }

    @inlinable
    static func decodeV1Entries(
        _ buffer: UnsafeRawBufferPointer,
        problems: inout [SyncWireError],
        _ body: (SyncEntry, Range<Int>) -> Void
    ) {
        let length = buffer.count
        let count = Int(buffer[Layout.Header.count])
        var next = Layout.Header.length
        for index in 0..<count {
            let start = next
            guard start + Layout.ConnectionV4.length <= length else {
                problems.append(
                    SyncWireError(
                        .entryPastEnd(
                            offset: start,
                            needed: Layout.ConnectionV4.length,
                            available: length - start
                        ),
                        entryIndex: index
                    )
                )
                return
            }
            let versionAndSize = buffer.be16(start + Layout.Connection.versionAndSize)
            let size = Int(versionAndSize & Layout.Connection.sizeMask)
            let end = start + size
            guard end <= length else {
                problems.append(
                    SyncWireError(
                        .entrySizeBeyondMessage(offset: start, entrySize: size, messageLength: length),
                        entryIndex: index
                    )
                )
                return
            }
            let entryVersion = versionAndSize >> Layout.Connection.versionShift
            guard entryVersion == 0 else {
                problems.append(SyncWireError(.unknownEntryVersion(Int(entryVersion)), entryIndex: index))
                return
            }
            if let reason = decodeV1Entry(buffer, start: start, end: end, body) {
                let error = SyncWireError(reason, entryIndex: index)
                problems.append(error)
                if error.consequence != .entrySkipped { return }
            }
            next = Layout.aligned(start + size)
        }
        if next < length {
            problems.append(SyncWireError(.trailingBytes(count: length - next), entryIndex: count))
        }
    }

    @inlinable
    static func decodeV1Entry(
        _ b: UnsafeRawBufferPointer,
        start p: Int,
        end: Int,
        _ body: (SyncEntry, Range<Int>) -> Void
    ) -> SyncWireError.Reason? {
        typealias Connection = Layout.Connection
        let type = b[p + Connection.type]
        let isIPv6 = type & Connection.typeIPv6 != 0
        guard isIPv6 || type == Connection.typeIPv4 else { return .unknownEntryType(type) }
        let fixed = isIPv6 ? Layout.ConnectionV6.length : Layout.ConnectionV4.length
        guard p + fixed <= end else { return .entrySizeTooSmall(entrySize: end - p, minimum: fixed) }

        var persistenceDataWithoutName = false
        if p + fixed < end {
            switch validateOptions(b, start: p + fixed, end: end) {
            case .rejected(let reason): return reason
            case .valid(let dataWithoutName): persistenceDataWithoutName = dataWithoutName
            }
        }

        let flags = ConnectionFlags(rawValue: b.be32(p + Connection.flags))
        let state = ConnectionState(rawValue: b.be16(p + Connection.state))
        let proto = IPProtocol(rawValue: b[p + Connection.protocol])
        if let reason = semanticProblem(protocol: proto, state: state, flags: flags) { return reason }
        if persistenceDataWithoutName { return .persistenceDataWithoutName }
        let client: IPv6Address
        let virtual: IPv6Address
        let destination: IPv6Address
        if isIPv6 {
            typealias V6 = Layout.ConnectionV6
            client = IPv6Address(high: b.be64(p + V6.clientAddress), low: b.be64(p + V6.clientAddress + V6.lowHalf))
            virtual = IPv6Address(high: b.be64(p + V6.virtualAddress), low: b.be64(p + V6.virtualAddress + V6.lowHalf))
            destination = IPv6Address(
                high: b.be64(p + V6.destinationAddress),
                low: b.be64(p + V6.destinationAddress + V6.lowHalf)
            )
        } else {
            typealias V4 = Layout.ConnectionV4
            client = IPv6Address(high: 0, low: UInt64(b.be32(p + V4.clientAddress)))
            virtual = IPv6Address(high: 0, low: UInt64(b.be32(p + V4.virtualAddress)))
            destination = IPv6Address(high: 0, low: UInt64(b.be32(p + V4.destinationAddress)))
        }
        body(
            SyncEntry(
                ipProtocol: proto,
                isIPv6: isIPv6,
                clientAddress: client,
                clientPort: b.be16(p + Connection.clientPort),
                virtualAddress: virtual,
                virtualPort: b.be16(p + Connection.virtualPort),
                destinationAddress: destination,
                destinationPort: b.be16(p + Connection.destinationPort),
                flags: flags,
                state: state,
                timeout: b.be32(p + Connection.timeout),
                fwmark: b.be32(p + Connection.fwmark)
            ),
            (p + fixed)..<end
        )
        return nil
    }

    @usableFromInline
    enum OptionsCheck {
        case valid(persistenceDataWithoutName: Bool)
        case rejected(SyncWireError.Reason)
    }

    /// Checks the option TLVs of one entry as the kernel does, in the kernel's order, without allocating.
    @inlinable
    static func validateOptions(_ b: UnsafeRawBufferPointer, start: Int, end: Int) -> OptionsCheck {
        typealias Option = Layout.Option
        var seen: UInt8 = 0
        var q = start
        while q < end {
            guard q + Option.headerLength <= end else { return .rejected(.optionHeaderPastEnd) }
            let optionType = b[q + Option.type]
            let optionLength = Int(b[q + Option.length])
            q += Option.headerLength
            guard optionLength > 0 else { return .rejected(.zeroLengthOption(type: optionType)) }
            guard q + optionLength <= end else {
                return .rejected(.optionPastEnd(type: optionType, length: optionLength))
            }
            let kind = optionType & ~Option.optionalBit
            switch kind {
            case Option.sequenceData:
                guard optionLength == Layout.SequenceData.length else {
                    return .rejected(.sequenceOptionLength(optionLength))
                }
            case Option.persistenceData:
                break
            case Option.persistenceName:
                guard optionLength <= PersistenceData.maximumNameLength else {
                    return .rejected(.persistenceNameTooLong(length: optionLength))
                }
            default:
                // The kernel stops at an unknown mandatory option and skips the entry without reading further.
                guard optionType & Option.optionalBit != 0 else {
                    return .rejected(.unknownMandatoryOption(type: kind))
                }
            }
            if kind <= Option.persistenceName {
                guard seen & (1 << kind) == 0 else { return .rejected(.duplicateOption(type: optionType)) }
                seen |= 1 << kind
            }
            q += optionLength
        }
        let dataBit: UInt8 = 1 << Option.persistenceData
        let nameBit: UInt8 = 1 << Option.persistenceName
        return .valid(persistenceDataWithoutName: seen & dataBit != 0 && seen & nameBit == 0)
    }

    /// Reads the options of an accepted entry: version 1 TLVs, or version 0's sequence block (host byte order).
    static func extras(
        _ b: UnsafeRawBufferPointer,
        _ range: Range<Int>,
        version: SyncProtocolVersion
    ) -> SyncConnectionExtras? {
        if range.isEmpty { return nil }
        switch version {
        case .v1: return parseOptions(b, range)
        case .v0:
            // Version 0 copies the options struct in the master's host byte order (little-endian on x86).
            let sequence = readSequence(b, at: range.lowerBound, bigEndian: false)
            return SyncConnectionExtras(sequence: sequence, persistence: nil, unknownOptions: [])
        }
    }

    /// Reads options already passed by ``validateOptions(_:start:end:)``.
    static func parseOptions(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> SyncConnectionExtras? {
        var sequence: SequenceOptions?
        var peData: [UInt8] = []
        var peName: String?
        var unknown: [UnknownSyncOption] = []
        typealias Option = Layout.Option
        var q = range.lowerBound
        while q + Option.headerLength <= range.upperBound {
            let optionType = b[q + Option.type]
            let optionLength = Int(b[q + Option.length])
            q += Option.headerLength
            switch optionType & ~Option.optionalBit {
            case Option.sequenceData: sequence = readSequence(b, at: q, bigEndian: true)
            case Option.persistenceData: peData = b.bytes(q, optionLength)
            case Option.persistenceName:
                peName = String(decoding: b.bytes(q, optionLength), as: UTF8.self)
            default: unknown.append(UnknownSyncOption(type: optionType, payload: b.bytes(q, optionLength)))
            }
            q += optionLength
        }
        let persistence = peName.map { PersistenceData(engine: $0, data: peData) }
        return SyncConnectionExtras(sequence: sequence, persistence: persistence, unknownOptions: unknown)
    }

    /// Reads `struct ip_vs_sync_conn_options`: six 32-bit words, in network order (version 1's SEQ_DATA) or in
    /// the master's host order (version 0).
    static func readSequence(_ b: UnsafeRawBufferPointer, at o: Int, bigEndian: Bool) -> SequenceOptions {
        typealias Words = Layout.SequenceData
        let adjustment = { (at: Int) in
            let word = { (field: Int) in bigEndian ? b.be32(o + at + field) : b.le32(o + at + field) }
            return SequenceAdjustment(
                initialSequence: word(Words.initialSequence),
                delta: word(Words.delta),
                previousDelta: word(Words.previousDelta)
            )
        }
        return SequenceOptions(inbound: adjustment(Words.inbound), outbound: adjustment(Words.outbound))
    }

    /// The kernel's per-entry checks after parsing: a non-template needs an IPVS protocol handler and a state in
    /// its range; a template's state is only logged when out of range.
    @inlinable
    static func semanticProblem(
        protocol proto: IPProtocol,
        state: ConnectionState,
        flags: ConnectionFlags
    ) -> SyncWireError.Reason? {
        if flags.contains(.template) { return nil }
        guard let states = proto.ipvsStateCount else { return .unsupportedProtocol(proto.rawValue) }
        guard state.rawValue < states else { return .invalidState(state: state.rawValue, protocolName: proto.name) }
        return nil
    }

    @inlinable
    static func decodeV0Entries(
        _ b: UnsafeRawBufferPointer,
        problems: inout [SyncWireError],
        _ body: (SyncEntry, Range<Int>) -> Void
    ) {
        let length = b.count
        typealias V0 = Layout.ConnectionV0
        let count = Int(b[Layout.HeaderV0.count])
        var p = Layout.HeaderV0.length
        for index in 0..<count {
            guard p + V0.length <= length else {
                problems.append(
                    SyncWireError(
                        .entryPastEnd(offset: p, needed: V0.length, available: length - p),
                        entryIndex: index
                    )
                )
                return
            }
            let flags = ConnectionFlags(rawValue: UInt32(b.be16(p + V0.flags)))
            var entryLength = V0.length
            if !flags.isDisjoint(with: .sequenceMask) {
                entryLength = V0.lengthWithSequence
                guard p + entryLength <= length else {
                    problems.append(
                        SyncWireError(
                            .entryPastEnd(offset: p, needed: entryLength, available: length - p),
                            entryIndex: index
                        )
                    )
                    return
                }
            }
            let state = ConnectionState(rawValue: b.be16(p + V0.state))
            let proto = IPProtocol(rawValue: b[p + V0.protocol])
            if let reason = semanticProblem(protocol: proto, state: state, flags: flags) {
                problems.append(SyncWireError(reason, entryIndex: index))
            } else {
                body(
                    SyncEntry(
                        ipProtocol: proto,
                        isIPv6: false,
                        clientAddress: IPv6Address(high: 0, low: UInt64(b.be32(p + V0.clientAddress))),
                        clientPort: b.be16(p + V0.clientPort),
                        virtualAddress: IPv6Address(high: 0, low: UInt64(b.be32(p + V0.virtualAddress))),
                        virtualPort: b.be16(p + V0.virtualPort),
                        destinationAddress: IPv6Address(high: 0, low: UInt64(b.be32(p + V0.destinationAddress))),
                        destinationPort: b.be16(p + V0.destinationPort),
                        flags: flags,
                        state: state,
                        timeout: 0,
                        fwmark: 0
                    ),
                    // Version 0's options block (present with sequence flags) follows the fixed part.
                    (p + V0.length)..<(p + entryLength)
                )
            }
            p += entryLength
        }
        if p < length {
            problems.append(SyncWireError(.trailingBytes(count: length - p), entryIndex: count))
        }
    }
}
