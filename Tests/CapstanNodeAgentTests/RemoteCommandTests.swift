import CapstanContainerRuntime
import Foundation
import Testing
@testable import CapstanNodeAgent

@Suite struct WebSocketFrameTests {
    let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]

    @Test func acceptKeyIsTheRFCExample() {
        #expect(WebSocketFrame.acceptKey(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("masked client frames of every length encoding parse back", arguments: [0, 5, 125, 126, 65535, 65536, 70000])
    func roundTrip(length: Int) throws {
        let payload = (0 ..< length).map { UInt8($0 & 0xFF) }
        let frame = WebSocketFrame(opcode: .binary, payload: payload)
        var parser = WebSocketFrameParser()
        let bytes = frame.encoded(mask: mask)
        // Fed in two pieces: nothing comes out until the frame is whole.
        parser.append(bytes.prefix(bytes.count / 2))
        #expect(try parser.next() == nil || length == 0)
        if length > 0 {
            parser.append(bytes.dropFirst(bytes.count / 2))
            #expect(try parser.next() == frame)
        }
        #expect(try parser.next() == nil)
    }

    @Test func serverFramesAreUnmaskedWithTheShortestLength() {
        #expect(WebSocketFrame(opcode: .binary, payload: [1, 104, 105]).encoded() == [0x82, 3, 1, 104, 105])
        #expect(Array(WebSocketFrame(opcode: .binary, payload: Array(repeating: 0, count: 300)).encoded().prefix(4)) == [0x82, 126, 1, 44])
        #expect(WebSocketFrame.close().encoded() == [0x88, 2, 0x03, 0xE8])
    }

    @Test func fragmentsAreJoinedAndControlFramesPassBetweenThem() throws {
        var parser = WebSocketFrameParser()
        parser.append(WebSocketFrame(fin: false, opcode: .binary, payload: [0, 1]).encoded(mask: mask))
        parser.append(WebSocketFrame(opcode: .ping, payload: [9]).encoded(mask: mask))
        parser.append(WebSocketFrame(fin: true, opcode: .continuation, payload: [2, 3]).encoded(mask: mask))
        #expect(try parser.next() == WebSocketFrame(opcode: .ping, payload: [9]))
        #expect(try parser.next() == WebSocketFrame(opcode: .binary, payload: [0, 1, 2, 3]))
    }

    @Test func protocolViolationsAreErrors() {
        var unmasked = WebSocketFrameParser()
        unmasked.append(WebSocketFrame(opcode: .binary, payload: [1]).encoded())
        #expect(throws: WebSocketFrameParser.ProtocolError.self) { try unmasked.next() }
        var stray = WebSocketFrameParser()
        stray.append(WebSocketFrame(opcode: .continuation, payload: [1]).encoded(mask: mask))
        #expect(throws: WebSocketFrameParser.ProtocolError.self) { try stray.next() }
        var huge = WebSocketFrameParser()
        huge.maxMessageSize = 10
        huge.append(WebSocketFrame(opcode: .binary, payload: Array(repeating: 0, count: 11)).encoded(mask: mask))
        #expect(throws: WebSocketFrameParser.ProtocolError.self) { try huge.next() }
    }
}

@Suite struct RemoteCommandTests {
    typealias P = RemoteCommand.StreamProtocol

    @Test func negotiationPicksTheClientsFirstServedProtocol() {
        #expect(P.negotiate(["v5.channel.k8s.io, v4.channel.k8s.io"])! == (.v5, true))
        #expect(P.negotiate(["x.k8s.io", "v4.channel.k8s.io,v5.channel.k8s.io"])! == (.v4, true))
        #expect(P.negotiate(["base64.channel.k8s.io"])! == (.base64, true))
        #expect(P.negotiate([])! == (.v1, false))
        #expect(P.negotiate(["SPDY/3.1+portforward.k8s.io"]) == nil)
    }

    @Test func optionsFromKubectlsQuery() throws {
        let options = try RemoteCommand.Options(query: "command=sh&command=-c&command=echo+a%20b&container=main&stdin=true&stdout=true&tty=true&stderr=true",
                                                requireCommand: true)
        #expect(options.command == ["sh", "-c", "echo a b"])
        #expect(options.stdin && options.stdout && options.tty && !options.stderr)
        #expect(throws: RemoteCommand.Options.Invalid(description: "you must specify at least 1 command")) {
            try RemoteCommand.Options(query: "stdout=true", requireCommand: true)
        }
        #expect(throws: RemoteCommand.Options.Invalid(description: "you must specify at least 1 of stdin, stdout, stderr")) {
            try RemoteCommand.Options(query: "command=ls", requireCommand: true)
        }
        #expect(throws: RemoteCommand.Options.Invalid.self) { try RemoteCommand.Options(query: "command=ls&stdout=maybe", requireCommand: true) }
        #expect(try RemoteCommand.Options(query: "stdout=1", requireCommand: false).stdout)
    }

    @Test func messagesAreFramedPerProtocol() {
        #expect(RemoteCommand.frame(.stdout, Array("hi".utf8), protocol: .v5) == WebSocketFrame(opcode: .binary, payload: [1, 104, 105]))
        #expect(RemoteCommand.frame(.stderr, Array("hi".utf8), protocol: .base64) == WebSocketFrame(opcode: .text, payload: Array("2aGk=".utf8)))
    }

    @Test func clientMessagesDecode() {
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .binary, payload: [0, 65]), protocol: .v5) == .stdin([65]))
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .binary, payload: [255, 0]), protocol: .v5) == .closeStdin)
        // Before v5 there is no close message.
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .binary, payload: [255, 0]), protocol: .v4) == .ignored)
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .binary, payload: [4] + Array(#"{"Width":120,"Height":40}"#.utf8)), protocol: .v4)
            == .resize(TerminalSize(width: 120, height: 40)))
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .text, payload: Array("0aGk=".utf8)), protocol: .base64) == .stdin(Array("hi".utf8)))
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .binary, payload: [4, 1]), protocol: .v4) == .ignored)
        #expect(RemoteCommand.decode(WebSocketFrame(opcode: .binary, payload: []), protocol: .v4) == .ignored)
    }

    @Test func exitStatusesAreKubernetesStatuses() throws {
        #expect(RemoteCommand.exitStatus(0, protocol: .v5).map { String(decoding: $0, as: UTF8.self) } == #"{"metadata":{},"status":"Success"}"#)
        #expect(RemoteCommand.exitStatus(0, protocol: .v1) == nil)
        let failure = try #require(RemoteCommand.exitStatus(3, protocol: .v4))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(failure)) as? [String: Any])
        #expect(object["status"] as? String == "Failure" && object["reason"] as? String == "NonZeroExitCode")
        let causes = (object["details"] as? [String: Any])?["causes"] as? [[String: String]]
        #expect(causes == [["reason": "ExitCode", "message": "3"]])
        #expect(String(decoding: try #require(RemoteCommand.exitStatus(3, protocol: .v2)), as: UTF8.self).contains("exit status 3"))
    }
}
