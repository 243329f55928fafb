import CapstanPKI
import Foundation
import Testing

@Suite struct TokenFileTests {
    @Test func parsesTheKubeAPIServerFormat() throws {
        let file = try TokenFile.parse("""
            31ada4fd-adec-460c-809a-9e56ceb75269,admin,1000,"system:masters,dev"
            deploy-token,ci-bot,ci-1
            node-token,system:node:n1,n1,system:nodes
            """)
        #expect(file.count == 3)
        #expect(file.user(forToken: "31ada4fd-adec-460c-809a-9e56ceb75269") == TokenFile.User(name: "admin", uid: "1000", groups: ["system:masters", "dev"]))
        #expect(file.user(forToken: "deploy-token") == TokenFile.User(name: "ci-bot", uid: "ci-1"))
        #expect(file.user(forToken: "node-token")?.groups == ["system:nodes"])
        #expect(file.user(forToken: "unknown") == nil)
        #expect(file.user(forToken: "") == nil)
        #expect(file.warnings.isEmpty)
    }

    @Test func handlesQuotesLeadingSpacesCRLFAndBlankLines() throws {
        let text = "\r\n tok1, \"jane \"\"j\"\" doe\",  42, \" a , b ,,\"\r\n\n\"tok,2\",bob,7\r\ntok3,multi,\"x\ny\",g\n"
        let file = try TokenFile.parse(text)
        #expect(file.user(forToken: "tok1") == TokenFile.User(name: "jane \"j\" doe", uid: "42", groups: ["a", "b"]))
        #expect(file.user(forToken: "tok,2")?.name == "bob")
        #expect(file.user(forToken: "tok3")?.uid == "x\ny")
        #expect(file.user(forToken: "tok3")?.groups == ["g"])
    }

    @Test func emptyTokensAreSkippedAndDuplicatesReplaced() throws {
        let file = try TokenFile.parse(",nobody,0\ntok,first,1\ntok,second,2\n", path: "/etc/tokens.csv")
        #expect(file.count == 1)
        #expect(file.user(forToken: "tok")?.name == "second")
        #expect(file.warnings.count == 2)
        #expect(file.warnings[0].hasPrefix("/etc/tokens.csv: line 1:"))
        #expect(file.warnings[1].hasPrefix("/etc/tokens.csv: line 3:"))
    }

    @Test(arguments: [
        ("tok,user\n", "line 1", "at least 3 fields"),
        ("a,b,c\ntok\n", "line 2", "at least 3 fields"),
        ("a,b,c\n\"unterminated,b,c\n", "line 2", "never closed"),
        ("to\"k,b,c\n", "line 1", "quote inside an unquoted field"),
        ("\"tok\"x,b,c\n", "line 1", "after a closing quote"),
    ])
    func malformedFilesNameFileAndLine(text: String, line: String, message: String) throws {
        let error = try #require(throws: PKIError.self) { try TokenFile.parse(text, path: "/etc/tokens.csv") }
        #expect(error.code == .invalidTokenFile)
        #expect(error.path == "/etc/tokens.csv")
        #expect(error.message.hasPrefix(line + ":"), "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test func emptyFileHasNoTokens() throws {
        #expect(try TokenFile.parse("").count == 0)
        #expect(try TokenFile.parse("\n\n").count == 0)
    }

    @Test func loadsFromDiskAndNamesAMissingFile() throws {
        try withTemporaryDirectory { temp in
            let path = temp.file("tokens.csv")
            try write("secret,alice,u1,\"g1,g2\"\n", to: path)
            let file = try TokenFile.load(path: path)
            #expect(file.user(forToken: "secret")?.groups == ["g1", "g2"])

            let missing = temp.file("nope.csv")
            let error = try #require(throws: PKIError.self) { try TokenFile.load(path: missing) }
            #expect(error.path == missing)
            #expect(error.description.contains("nope.csv"))
        }
    }

    @Test func binaryFileIsAnError() throws {
        try withTemporaryDirectory { temp in
            let path = temp.file("tokens.csv")
            try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: URL(fileURLWithPath: path))
            let error = try #require(throws: PKIError.self) { try TokenFile.load(path: path) }
            #expect(error.path == path)
        }
    }
}
