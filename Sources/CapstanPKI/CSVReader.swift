/// A reader of comma-separated records with the rules of Go's `encoding/csv` as kube-apiserver
/// configures it: quoted fields (which may span lines), `""` for a quote inside them, leading spaces
/// of a field ignored, `\r\n` or `\n` line ends, blank lines skipped.
struct CSVReader {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// The next record and the line it starts on, or `nil` at the end.
    mutating func next(path: String) throws -> (line: Int, fields: [String])? {
        // Skip blank lines.
        while index < scalars.count, scalars[index] == "\n" || (scalars[index] == "\r" && peek(1) == "\n") {
            if scalars[index] == "\r" { index += 1 }
            index += 1
            line += 1
        }
        guard index < scalars.count else { return nil }
        let startLine = line
        var fields: [String] = []
        while true {
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
            var field = String.UnicodeScalarView()
            if index < scalars.count, scalars[index] == "\"" {
                let quoteLine = line
                index += 1
                var closed = false
                while index < scalars.count {
                    let scalar = scalars[index]
                    if scalar == "\"" {
                        if peek(1) == "\"" {
                            field.append("\"")
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    if scalar == "\n" { line += 1 }
                    if scalar == "\r" && peek(1) == "\n" {
                        index += 1
                        continue
                    }
                    field.append(scalar)
                    index += 1
                }
                guard closed else {
                    throw PKIError(.invalidTokenFile, path: path, "line \(quoteLine): quoted field is never closed")
                }
                if index < scalars.count, !isFieldEnd(index) {
                    throw PKIError(.invalidTokenFile, path: path, "line \(line): unexpected \"\(scalars[index])\" after a closing quote")
                }
            } else {
                while index < scalars.count, !isFieldEnd(index) {
                    if scalars[index] == "\"" {
                        throw PKIError(.invalidTokenFile, path: path, "line \(line): a quote inside an unquoted field; quote the whole field and double the quote")
                    }
                    field.append(scalars[index])
                    index += 1
                }
            }
            fields.append(String(field))

            if index >= scalars.count { return (startLine, fields) }
            if scalars[index] == "," {
                index += 1
                continue
            }
            // End of line.
            if scalars[index] == "\r" { index += 1 }
            index += 1
            line += 1
            return (startLine, fields)
        }
    }

    private func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private func isFieldEnd(_ position: Int) -> Bool {
        let scalar = scalars[position]
        if scalar == "," || scalar == "\n" { return true }
        return scalar == "\r" && position + 1 < scalars.count && scalars[position + 1] == "\n"
    }
}
