#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }
}
