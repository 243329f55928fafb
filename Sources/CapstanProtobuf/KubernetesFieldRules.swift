/// How each field of each generated message appears in the object's JSON form, as Go's
/// `encoding/json` writes the Kubernetes structs: the JSON name (the Go `json` tag), whether a
/// present zero value is written, and which structs are inlined. Parsed once from the generated
/// `table` (scripts/generate-k8s-proto.sh).
struct KubernetesFieldRules: Sendable {
    enum Presence: Sendable, Hashable {
        /// Written whenever the protobuf field is present (pointers, structs, fields without `omitempty`).
        case whenPresent
        /// Written when present, and as null when absent: a pointer, slice or map without
        /// `omitempty`, which Go leaves out of protobuf when nil and writes to JSON as null.
        case nullWhenAbsent
        /// Written when present and not zero: a non-pointer `omitempty` scalar, which gogo-protobuf
        /// writes even when it is zero.
        case unlessZero
        /// A struct embedded with `json:",inline"`: its fields join the enclosing object.
        case inline
    }

    struct Field: Sendable, Hashable {
        var jsonName: String
        var presence: Presence
    }

    struct Message: Sendable, Hashable {
        var fields: [Int: Field] = [:]
        /// The JSON names of the `nullWhenAbsent` fields.
        var nullWhenAbsent: [String] = []
    }

    /// The rules of each message, by its full protobuf name.
    let messages: [String: Message]

    static let builtIn = KubernetesFieldRules(table: table)

    init(table: String) {
        var messages: [String: Message] = [:]
        for line in table.split(separator: "\n") {
            let cells = line.split(separator: " ")
            guard let name = cells.first else { continue }
            var message = Message()
            for cell in cells.dropFirst() {
                guard let mark = cell.firstIndex(where: { "=~!^".contains($0) }),
                      let number = Int(cell[..<mark]) else { continue }
                let jsonName = String(cell[cell.index(after: mark)...])
                switch cell[mark] {
                case "=": message.fields[number] = Field(jsonName: jsonName, presence: .whenPresent)
                case "~": message.fields[number] = Field(jsonName: jsonName, presence: .unlessZero)
                case "!":
                    message.fields[number] = Field(jsonName: jsonName, presence: .nullWhenAbsent)
                    message.nullWhenAbsent.append(jsonName)
                default: message.fields[number] = Field(jsonName: "", presence: .inline)
                }
            }
            messages[String(name)] = message
        }
        self.messages = messages
    }
}
