import NIOCore

/// One SPDY/3.1 frame, decoded (header blocks already decompressed).
public enum SPDYFrame: Hashable, Sendable {
    case data(streamID: UInt32, data: ByteBuffer, finished: Bool)
    case synStream(SPDYSynStream)
    case synReply(streamID: UInt32, headers: SPDYHeaders, finished: Bool)
    case rstStream(streamID: UInt32, status: SPDYResetStatus)
    case settings(clearPersisted: Bool, [SPDYSetting])
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: SPDYGoAwayStatus)
    case headers(streamID: UInt32, headers: SPDYHeaders, finished: Bool)
    case windowUpdate(streamID: UInt32, delta: UInt32)
    /// A control frame of a type this codec does not know (CREDENTIAL, or a later one).
    /// Receivers ignore it, as the spec asks.
    case unknownControl(type: UInt16)

    /// The SPDY version in every control frame's header (3.1 keeps version 3).
    public static let version: UInt16 = 3
    /// The largest payload a frame's 24-bit length can describe.
    public static let maximumLength = 0xFF_FFFF
}

/// A SYN_STREAM frame: a peer opens a stream.
public struct SPDYSynStream: Hashable, Sendable {
    public var streamID: UInt32
    public var associatedStreamID: UInt32
    /// 0 (highest) to 7.
    public var priority: UInt8
    public var slot: UInt8
    public var headers: SPDYHeaders
    /// FLAG_FIN: the sender sends nothing more on this stream.
    public var finished: Bool
    /// FLAG_UNIDIRECTIONAL: the receiver may not send on this stream.
    public var unidirectional: Bool

    public init(streamID: UInt32, associatedStreamID: UInt32 = 0, priority: UInt8 = 0, slot: UInt8 = 0,
                headers: SPDYHeaders, finished: Bool = false, unidirectional: Bool = false) {
        self.streamID = streamID
        self.associatedStreamID = associatedStreamID
        self.priority = priority
        self.slot = slot
        self.headers = headers
        self.finished = finished
        self.unidirectional = unidirectional
    }
}

/// RST_STREAM status codes (an open set: unknown codes are kept as they are).
public struct SPDYResetStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let protocolError = SPDYResetStatus(rawValue: 1)
    public static let invalidStream = SPDYResetStatus(rawValue: 2)
    public static let refusedStream = SPDYResetStatus(rawValue: 3)
    public static let unsupportedVersion = SPDYResetStatus(rawValue: 4)
    public static let cancel = SPDYResetStatus(rawValue: 5)
    public static let internalError = SPDYResetStatus(rawValue: 6)
    public static let flowControlError = SPDYResetStatus(rawValue: 7)
    public static let streamInUse = SPDYResetStatus(rawValue: 8)
    public static let streamAlreadyClosed = SPDYResetStatus(rawValue: 9)
    public static let frameTooLarge = SPDYResetStatus(rawValue: 11)

    public var description: String {
        switch self {
        case .protocolError: "PROTOCOL_ERROR"
        case .invalidStream: "INVALID_STREAM"
        case .refusedStream: "REFUSED_STREAM"
        case .unsupportedVersion: "UNSUPPORTED_VERSION"
        case .cancel: "CANCEL"
        case .internalError: "INTERNAL_ERROR"
        case .flowControlError: "FLOW_CONTROL_ERROR"
        case .streamInUse: "STREAM_IN_USE"
        case .streamAlreadyClosed: "STREAM_ALREADY_CLOSED"
        case .frameTooLarge: "FRAME_TOO_LARGE"
        default: "status \(rawValue)"
        }
    }
}

/// GOAWAY status codes.
public struct SPDYGoAwayStatus: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = SPDYGoAwayStatus(rawValue: 0)
    public static let protocolError = SPDYGoAwayStatus(rawValue: 1)
    public static let internalError = SPDYGoAwayStatus(rawValue: 2)
}

/// One SETTINGS entry: 8 bits of flags, a 24-bit id and a 32-bit value.
public struct SPDYSetting: Hashable, Sendable {
    public var id: UInt32
    public var value: UInt32
    public var flags: UInt8

    public init(id: UInt32, value: UInt32, flags: UInt8 = 0) {
        self.id = id
        self.value = value
        self.flags = flags
    }

    public static let maxConcurrentStreamsID: UInt32 = 4
    public static let initialWindowSizeID: UInt32 = 7
}
