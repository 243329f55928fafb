import CapstanSPDY
import Foundation

/// The port-forward protocol's pairing rules, without IO: for every local connection the
/// client opens an `error` stream and a `data` stream carrying the same `requestID` (old
/// clients without it: the error stream's id, and the data stream's id minus 2) and the pod
/// `port`. Once both have arrived the pair is forwarded; a pair left incomplete for
/// `pairTimeout` is given up with a message on whichever error stream came.
struct PortForwardCore {
    struct Request: Hashable, Sendable {
        var requestID: String
        var port: UInt16
        var errorStreamID: UInt32
        var dataStreamID: UInt32
    }

    enum Decision: Hashable, Sendable {
        /// The stream cannot take part in port forwarding; reset it.
        case reject(streamID: UInt32, reason: String)
        /// Connect to the port and copy bytes between it and the data stream.
        case forward(Request)
        /// Report `message` on the error stream and close both streams (or just the one that came).
        case fail(errorStreamID: UInt32?, dataStreamID: UInt32?, message: String)
    }

    private struct Partial {
        var errorStreamID: UInt32?
        var dataStreamID: UInt32?
        var port: String?
        var opened: Date
    }

    let pairTimeout: Duration
    private var partial: [String: Partial] = [:]

    init(pairTimeout: Duration = .seconds(30)) {
        self.pairTimeout = pairTimeout
    }

    /// Streams waiting for their partner.
    var waitingPairs: Int { partial.count }

    mutating func streamOpened(_ streamID: UInt32, headers: SPDYHeaders, at now: Date) -> Decision? {
        let isError: Bool
        switch headers["streamType"] {
        case "error": isError = true
        case "data": isError = false
        case let other?: return .reject(streamID: streamID, reason: "unknown streamType \"\(other)\"")
        case nil: return .reject(streamID: streamID, reason: "the stream has no streamType header")
        }
        let requestID = headers["requestID"] ?? String(isError ? streamID : streamID &- 2)
        var pair = partial[requestID] ?? Partial(opened: now)
        if isError {
            guard pair.errorStreamID == nil else {
                return .reject(streamID: streamID, reason: "request \(requestID) already has an error stream")
            }
            pair.errorStreamID = streamID
        } else {
            guard pair.dataStreamID == nil else {
                return .reject(streamID: streamID, reason: "request \(requestID) already has a data stream")
            }
            pair.dataStreamID = streamID
            pair.port = headers["port"]
        }
        guard let errorID = pair.errorStreamID, let dataID = pair.dataStreamID else {
            partial[requestID] = pair
            return nil
        }
        partial[requestID] = nil
        guard let text = pair.port, let port = UInt16(text), port > 0 else {
            let shown = pair.port.map { "\"\($0)\"" } ?? "missing"
            return .fail(errorStreamID: errorID, dataStreamID: dataID, message: "invalid port \(shown): want a number from 1 to 65535")
        }
        return .forward(Request(requestID: requestID, port: port, errorStreamID: errorID, dataStreamID: dataID))
    }

    /// Gives up on pairs older than the timeout.
    mutating func expire(at now: Date) -> [Decision] {
        var decisions: [Decision] = []
        for (requestID, pair) in partial.sorted(by: { $0.key < $1.key }) where now.timeIntervalSince(pair.opened) >= pairTimeout.timeInterval {
            partial[requestID] = nil
            decisions.append(.fail(errorStreamID: pair.errorStreamID, dataStreamID: pair.dataStreamID,
                                   message: "timed out waiting for the other stream of request \(requestID)"))
        }
        return decisions
    }
}
