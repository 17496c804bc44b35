/// One direction's TCP sequence adjustment (`struct ip_vs_seq`), used by NAT application helpers such as FTP.
public struct SequenceAdjustment: Hashable, Sendable {
    /// The sequence number where the adjustment starts (`init_seq`).
    public var initialSequence: UInt32
    /// The current delta (`delta`).
    public var delta: UInt32
    /// The delta before the last change (`previous_delta`).
    public var previousDelta: UInt32

    /// Creates an adjustment.
    public init(initialSequence: UInt32, delta: UInt32, previousDelta: UInt32) {
        self.initialSequence = initialSequence
        self.delta = delta
        self.previousDelta = previousDelta
    }
}

/// Both directions' sequence adjustments (`struct ip_vs_sync_conn_options`); sent when a SEQ flag is set.
public struct SequenceOptions: Hashable, Sendable {
    /// Client-to-server direction (`in_seq`).
    public var inbound: SequenceAdjustment
    /// Server-to-client direction (`out_seq`).
    public var outbound: SequenceAdjustment

    /// Creates both directions' adjustments.
    public init(inbound: SequenceAdjustment, outbound: SequenceAdjustment) {
        self.inbound = inbound
        self.outbound = outbound
    }
}

/// A persistence engine's data attached to a template (v1 options PE_DATA and PE_NAME), e.g. a SIP Call-ID.
public struct PersistenceData: Hashable, Sendable {
    /// The longest `pe_data` the kernel accepts (`IP_VS_PEDATA_MAXLEN`).
    public static let maximumDataLength = 255
    /// The longest engine name the kernel accepts (`IP_VS_PENAME_MAXLEN`).
    public static let maximumNameLength = 16

    /// The engine's name without a NUL, e.g. `sip`.
    public var engine: String
    /// The engine's raw data, e.g. the Call-ID bytes.
    public var data: [UInt8]

    /// Creates persistence data for `engine`.
    public init(engine: String, data: [UInt8]) {
        self.engine = engine
        self.data = data
    }

    /// The data as text when it is valid UTF-8 (a SIP Call-ID is), else nil.
    public var dataText: String? {
        String(validating: data, as: UTF8.self)
    }
}

/// An option this codec does not interpret, kept so that re-encoding gives back the same bytes.
///
/// Only *optional* options (type bit `IPVS_OPT_F_PARAM`, 0x40) can be kept: an unknown mandatory option
/// makes the kernel skip the whole entry, and the decoder reports it.
public struct UnknownSyncOption: Hashable, Sendable {
    /// The option type byte as it was on the wire, 0x40 bit included.
    public var type: UInt8
    /// The option's payload, 1 to 255 bytes.
    public var payload: [UInt8]

    /// Creates an option to keep.
    public init(type: UInt8, payload: [UInt8]) {
        self.type = type
        self.payload = payload
    }
}
