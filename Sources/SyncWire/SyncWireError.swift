/// Every error of the SyncWire module: a rejected sync message or entry, an entry that cannot be encoded,
/// or malformed input around messages (pcap files, hex lines, `/proc` tables).
///
/// The description names where the problem is (message, entry, line) and what is wrong, e.g.
/// `message 3 entry 2: option PE_DATA appears twice`.
public struct SyncWireError: Error, Hashable, Sendable {
    /// What is wrong.
    public var reason: Reason
    /// The index of the message in its input (set by callers that read several messages).
    public var messageIndex: Int?
    /// The index of the entry inside its message.
    public var entryIndex: Int?
    /// The 1-based line number (hex input and `/proc` tables).
    public var line: Int?

    /// Creates an error; callers that know it set the message, entry or line.
    public init(_ reason: Reason, messageIndex: Int? = nil, entryIndex: Int? = nil, line: Int? = nil) {
        self.reason = reason
        self.messageIndex = messageIndex
        self.entryIndex = entryIndex
        self.line = line
    }

    /// What the kernel's backup does with a message that has this problem.
    public enum Consequence: Hashable, Sendable {
        /// Nothing of the message is applied.
        case messageDropped
        /// Entries before this one are applied, this one and the rest are dropped.
        case restDropped
        /// This entry is skipped; the entries after it are still applied.
        case entrySkipped
        /// Not a kernel decision: encoding or reading failed.
        case notApplicable
    }

    /// The reasons, one case per distinct problem.
    public enum Reason: Hashable, Sendable {
        // Message level (the kernel drops the whole message).
        case headerTooShort(length: Int)
        case sizeMismatch(headerSize: Int, actualLength: Int)
        // Entry structure (the kernel drops the entry and the rest).
        case entryPastEnd(offset: Int, needed: Int, available: Int)
        case entrySizeBeyondMessage(offset: Int, entrySize: Int, messageLength: Int)
        case unknownEntryVersion(Int)
        case unknownEntryType(UInt8)
        case entrySizeTooSmall(entrySize: Int, minimum: Int)
        case optionHeaderPastEnd
        case zeroLengthOption(type: UInt8)
        case optionPastEnd(type: UInt8, length: Int)
        case sequenceOptionLength(Int)
        case duplicateOption(type: UInt8)
        case persistenceNameTooLong(length: Int)
        // Entry semantics (the kernel skips the entry).
        case unknownMandatoryOption(type: UInt8)
        case unsupportedProtocol(UInt8)
        case invalidState(state: UInt16, protocolName: String)
        case persistenceDataWithoutName
        // Stricter than the kernel, which ignores them.
        case trailingBytes(count: Int)
        // Encoding.
        case mixedAddressFamilies
        case notRepresentableInV0(String)
        case tooManyEntries(Int)
        case messageTooLong(Int)
        case entryTooLong(Int)
        case persistenceDataLength(Int)
        case persistenceNameLength(Int)
        case unknownOptionLength(Int)
        case sequenceFlagsWithoutData
        case entryLargerThanMessageLimit(entryLength: Int, limit: Int)
        // Input around messages.
        case invalidHex(String)
        case pcap(String)
        case procLine(String)
    }

    /// What the kernel does with a message that has this problem.
    public var consequence: Consequence {
        switch reason {
        case .headerTooShort, .sizeMismatch: .messageDropped
        case .entryPastEnd, .entrySizeBeyondMessage, .unknownEntryVersion, .unknownEntryType, .entrySizeTooSmall,
            .optionHeaderPastEnd, .zeroLengthOption, .optionPastEnd, .sequenceOptionLength, .duplicateOption,
            .persistenceNameTooLong:
            .restDropped
        case .unknownMandatoryOption, .unsupportedProtocol, .invalidState, .persistenceDataWithoutName: .entrySkipped
        default: .notApplicable
        }
    }
}

extension SyncWireError: CustomStringConvertible {
    public var description: String {
        var place: [String] = []
        if let line { place.append("line \(line)") }
        if let messageIndex { place.append("message \(messageIndex)") }
        if let entryIndex { place.append("entry \(entryIndex)") }
        let prefix = place.isEmpty ? "" : place.joined(separator: " ") + ": "
        return prefix + reason.description
    }
}

extension SyncWireError.Reason: CustomStringConvertible {
    public var description: String {
        switch self {
        case .headerTooShort(let n): "message of \(n) bytes is shorter than the 4-byte header"
        case .sizeMismatch(let h, let a): "header size field says \(h) bytes but the datagram has \(a)"
        case .entryPastEnd(let o, let n, let a):
            "entry at offset \(o) needs \(n) bytes but only \(a) remain"
        case .entrySizeBeyondMessage(let o, let s, let m):
            "entry at offset \(o) has size \(s), running past the end of the \(m)-byte message"
        case .unknownEntryVersion(let v): "unknown entry format version \(v)"
        case .unknownEntryType(let t): "unknown entry type 0x\(String(t, radix: 16))"
        case .entrySizeTooSmall(let s, let m): "entry size \(s) is smaller than its fixed part of \(m) bytes"
        case .optionHeaderPastEnd: "option header runs past the end of the entry"
        case .zeroLengthOption(let t): "option \(optionName(t)) has length 0"
        case .optionPastEnd(let t, let l): "option \(optionName(t)) of length \(l) runs past the end of the entry"
        case .sequenceOptionLength(let l): "option SEQ_DATA has length \(l), not 24"
        case .duplicateOption(let t): "option \(optionName(t)) appears twice"
        case .persistenceNameTooLong(let l): "option PE_NAME has length \(l), more than 16"
        case .unknownMandatoryOption(let t): "unknown mandatory option type \(t)"
        case .unsupportedProtocol(let p): "protocol \(p) has no IPVS handler"
        case .invalidState(let s, let p): "state \(s) is out of range for \(p)"
        case .persistenceDataWithoutName: "PE_DATA without PE_NAME"
        case .trailingBytes(let n): "\(n) bytes after the last entry"
        case .mixedAddressFamilies: "client, virtual and destination addresses are not of one family"
        case .notRepresentableInV0(let what): "version 0 cannot carry \(what)"
        case .tooManyEntries(let n): "\(n) entries do not fit the 8-bit entry count"
        case .messageTooLong(let n): "message of \(n) bytes does not fit the 16-bit size field"
        case .entryTooLong(let n): "entry of \(n) bytes does not fit the 12-bit entry size"
        case .persistenceDataLength(let n): "pe_data of \(n) bytes is not 1 to 255 bytes"
        case .persistenceNameLength(let n): "pe_name of \(n) bytes is not 1 to 16 bytes"
        case .unknownOptionLength(let n): "option payload of \(n) bytes is not 1 to 255 bytes"
        case .sequenceFlagsWithoutData: "sequence flags are set but the entry has no sequence data"
        case .entryLargerThanMessageLimit(let e, let l): "entry of \(e) bytes cannot fit a message of at most \(l)"
        case .invalidHex(let why): "invalid hex: \(why)"
        case .pcap(let why): "pcap: \(why)"
        case .procLine(let why): why
        }
    }

    private func optionName(_ type: UInt8) -> String {
        switch type & ~SyncWireLayout.Option.optionalBit {
        case SyncWireLayout.Option.sequenceData: "SEQ_DATA"
        case SyncWireLayout.Option.persistenceData: "PE_DATA"
        case SyncWireLayout.Option.persistenceName: "PE_NAME"
        default: "type \(type)"
        }
    }
}
