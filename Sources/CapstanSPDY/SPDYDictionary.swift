/// The preset zlib dictionary of SPDY/3 name/value header blocks (SPDY draft 3, section
/// 2.6.10.1). Both directions of a session prime their zlib stream with it; a single byte
/// off and the peer's inflate fails, so it is built here from the spec's definition rather
/// than retyped as hex: first a run of words, each with a 32-bit big-endian length prefix
/// (the header names and common values the spec lists), then plain text (status lines,
/// dates, content types) with no prefixes and no terminator.
enum SPDYDictionary {
    /// The 1423 bytes of the dictionary.
    static let bytes: [UInt8] = {
        var out: [UInt8] = []
        for word in prefixedWords {
            let utf8 = Array(word.utf8)
            let count = UInt32(utf8.count)
            out += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
            out += utf8
        }
        out += Array(trailingText.joined().utf8)
        return out
    }()

    private static let prefixedWords: [String] = [
        "options", "head", "post", "put", "delete", "trace",
        "accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
        "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length",
        "content-location", "content-md5", "content-range", "content-type",
        "date", "etag", "expect", "expires", "from", "host",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
        "last-modified", "location", "max-forwards", "pragma",
        "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
        "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
        "vary", "via", "warning", "www-authenticate",
        "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
        "public", "set-cookie", "keep-alive", "origin",
    ]

    private static let trailingText: [String] = [
        // Status codes, run together.
        "100101201202205206300302303304305306307",
        "402405406407408409410411412413414415416417",
        "502504505",
        // Status lines.
        "203 Non-Authoritative Information", "204 No Content", "301 Moved Permanently",
        "400 Bad Request", "401 Unauthorized", "403 Forbidden", "404 Not Found",
        "500 Internal Server Error", "501 Not Implemented", "503 Service Unavailable",
        // Date parts.
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec ",
        "00:00:00 ",
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
        // Common values.
        "chunked,text/html,image/png,image/jpg,image/gif,",
        "application/xml,application/xhtml+xml,text/plain,text/javascript,",
        "publicprivatemax-age=gzip,deflate,sdch",
        "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
    ]
}
