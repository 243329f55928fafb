import CapstanAPI

extension TablePrinter {
    /// `rolebindings` and `clusterrolebindings`: NAME, ROLE, AGE; wide USERS, GROUPS, SERVICEACCOUNTS.
    static let bindings = TablePrinter(
        columns: [
            .name,
            .string("Role", "The role the binding grants (kind/name)."),
            .age,
            .string("Users", "Subjects of kind User.", priority: 1),
            .string("Groups", "Subjects of kind Group.", priority: 1),
            .string("ServiceAccounts", "Subjects of kind ServiceAccount (namespace/name).", priority: 1),
        ],
        cells: { o, ctx in
            var users: [String] = []
            var groups: [String] = []
            var serviceAccounts: [String] = []
            for subject in o["subjects"].array {
                switch subject["kind"].text {
                case "ServiceAccount": serviceAccounts.append("\(subject["namespace"].text)/\(subject["name"].text)")
                case "User": users.append(subject["name"].text)
                case "Group": groups.append(subject["name"].text)
                default: break
                }
            }
            let ref = o["roleRef"]
            return [
                Format.name(o), .string("\(ref["kind"].text)/\(ref["name"].text)"), .string(ctx.age(o)),
                .string(users.joined(separator: ", ")), .string(groups.joined(separator: ", ")),
                .string(serviceAccounts.joined(separator: ", ")),
            ]
        })

    /// `leases`: NAME, HOLDER, AGE.
    static let leases = TablePrinter(
        columns: [.name, .string("Holder", "Identity of the current holder of the lease."), .age],
        cells: { o, ctx in [Format.name(o), .string(o["spec"]["holderIdentity"].text), .string(ctx.age(o))] })

    /// `priorityclasses`: NAME, VALUE, GLOBAL-DEFAULT, AGE, PREEMPTIONPOLICY.
    static let priorityClasses = TablePrinter(
        columns: [
            .name,
            .integer("Value", "Priority of pods using this class."),
            .boolean("Global-Default", "Whether this class is the default for pods without a class."),
            .age,
            .string("PreemptionPolicy", "Whether pods of this class may preempt lower-priority pods."),
        ],
        cells: { o, ctx in
            [Format.name(o), .int(o["value"].integer), .bool(o["globalDefault"].flag), .string(ctx.age(o)),
             .string(o["preemptionPolicy"].text)]
        })

    /// `runtimeclasses`: NAME, HANDLER, AGE.
    static let runtimeClasses = TablePrinter(
        columns: [.name, .string("Handler", "The container runtime handler of the class."), .age],
        cells: { o, ctx in [Format.name(o), .string(o["handler"].text), .string(ctx.age(o))] })

    /// `storageclasses`: NAME (with "(default)"), PROVISIONER, RECLAIMPOLICY, VOLUMEBINDINGMODE,
    /// ALLOWVOLUMEEXPANSION, AGE.
    static let storageClasses = TablePrinter(
        columns: [
            .name,
            .string("Provisioner", "The provisioner of volumes of this class."),
            .string("ReclaimPolicy", "Reclaim policy of the volumes provisioned."),
            .string("VolumeBindingMode", "When volumes are bound and provisioned."),
            .string("AllowVolumeExpansion", "Whether volumes of this class may be expanded."),
            .age,
        ],
        cells: { o, ctx in
            var name = o["metadata"]["name"].text
            let annotations = o["metadata"]["annotations"]
            if annotations["storageclass.kubernetes.io/is-default-class"].string == "true"
                || annotations["storageclass.beta.kubernetes.io/is-default-class"].string == "true" {
                name += " (default)"
            }
            return [
                .string(name), .string(o["provisioner"].text), .string(o["reclaimPolicy"].string ?? "Delete"),
                .string(o["volumeBindingMode"].string ?? "Immediate"), .bool(o["allowVolumeExpansion"].flag),
                .string(ctx.age(o)),
            ]
        })

    /// `csidrivers`: NAME, ATTACHREQUIRED, PODINFOONMOUNT, STORAGECAPACITY, TOKENREQUESTS,
    /// REQUIRESREPUBLISH, MODES, AGE.
    static let csiDrivers = TablePrinter(
        columns: [
            .name,
            .boolean("AttachRequired", "Whether volumes need an attach operation."),
            .boolean("PodInfoOnMount", "Whether pod information is passed on mount."),
            .boolean("StorageCapacity", "Whether the driver reports storage capacity."),
            .string("TokenRequests", "Audiences of the service account tokens passed to the driver."),
            .boolean("RequiresRepublish", "Whether NodePublishVolume is called periodically."),
            .string("Modes", "Volume lifecycle modes the driver supports."),
            .age,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            var tokenRequests = "<unset>"
            if spec["tokenRequests"].exists {
                tokenRequests = spec["tokenRequests"].array.map { $0["audience"].text }.joined(separator: ",")
            }
            let modes = spec["volumeLifecycleModes"].array.map(\.text).joined(separator: ",")
            return [
                Format.name(o), .bool(spec["attachRequired"].bool ?? true), .bool(spec["podInfoOnMount"].flag),
                .bool(spec["storageCapacity"].flag), .string(tokenRequests), .bool(spec["requiresRepublish"].flag),
                .string(modes.isEmpty ? "<none>" : modes), .string(ctx.age(o)),
            ]
        })

    /// `csinodes`: NAME, DRIVERS, AGE.
    static let csiNodes = TablePrinter(
        columns: [.name, .integer("Drivers", "How many CSI drivers the node has registered."), .age],
        cells: { o, ctx in [Format.name(o), .int(Int64(o["spec"]["drivers"].count)), .string(ctx.age(o))] })

    /// `csistoragecapacities`: NAME, STORAGECLASSNAME, CAPACITY.
    static let csiStorageCapacities = TablePrinter(
        columns: [
            .name,
            .string("StorageClassName", "The storage class the capacity applies to."),
            .string("Capacity", "Capacity available for new volumes."),
        ],
        cells: { o, _ in
            [Format.name(o), .string(o["storageClassName"].text),
             .string(o["capacity"].exists ? Format.quantity(o["capacity"]) : "<unset>")]
        })

    /// `volumeattachments`: NAME, ATTACHER, PV, NODE, ATTACHED, AGE.
    static let volumeAttachments = TablePrinter(
        columns: [
            .name,
            TableColumnDefinition(name: "Attacher", type: "string", format: "name", description: "The attacher (CSI driver) of the volume."),
            .string("PV", "The persistent volume to attach."),
            .string("Node", "The node to attach the volume to."),
            .boolean("Attached", "Whether the volume is attached."),
            .age,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            return [
                Format.name(o), .string(spec["attacher"].text), .string(spec["source"]["persistentVolumeName"].text),
                .string(spec["nodeName"].text), .bool(o["status"]["attached"].flag), .string(ctx.age(o)),
            ]
        })

    /// `mutatingwebhookconfigurations` and `validatingwebhookconfigurations`: NAME, WEBHOOKS, AGE.
    static let webhookConfigurations = TablePrinter(
        columns: [.name, .integer("Webhooks", "How many webhooks the configuration holds."), .age],
        cells: { o, ctx in [Format.name(o), .int(Int64(o["webhooks"].count)), .string(ctx.age(o))] })

    /// `validatingadmissionpolicies`: NAME, VALIDATIONS, PARAMKIND, AGE.
    static let validatingAdmissionPolicies = TablePrinter(
        columns: [
            .name,
            .integer("Validations", "How many validation rules the policy defines."),
            .string("ParamKind", "Kind (apiVersion/kind) of the parameter resources of the policy."),
            .age,
        ],
        cells: { o, ctx in
            let paramKind = o["spec"]["paramKind"]
            let kind = paramKind.exists ? "\(paramKind["apiVersion"].text)/\(paramKind["kind"].text)" : "<unset>"
            return [Format.name(o), .int(Int64(o["spec"]["validations"].count)), .string(kind), .string(ctx.age(o))]
        })

    /// `validatingadmissionpolicybindings`: NAME, POLICYNAME, PARAMREF, AGE.
    static let validatingAdmissionPolicyBindings = TablePrinter(
        columns: [
            .name,
            .string("PolicyName", "The policy this binding applies."),
            .string("ParamRef", "The parameter resource(s) the binding passes to the policy."),
            .age,
        ],
        cells: { o, ctx in
            var param = "<unset>"
            let ref = o["spec"]["paramRef"]
            if ref.exists {
                if let name = ref["name"].nonEmpty {
                    param = (ref["namespace"].nonEmpty ?? "*") + "/" + name
                } else if ref["selector"].exists {
                    param = goLabelSelectorDebugString(ref["selector"])
                }
            }
            return [Format.name(o), .string(o["spec"]["policyName"].text), .string(param), .string(ctx.age(o))]
        })

    /// Go's generated `(*metav1.LabelSelector).String()`.
    static func goLabelSelectorDebugString(_ selector: JSONNode) -> String {
        let labels = selector["matchLabels"].stringMap
        let labelText = labels.keys.sorted(by: Format.byteOrder).map { "\($0): \(labels[$0]!)," }.joined()
        let expressions = selector["matchExpressions"].array.map { e in
            "LabelSelectorRequirement{Key:\(e["key"].text),Operator:\(e["operator"].text),Values:[\(e["values"].array.map(\.text).joined(separator: " "))],}"
        }.joined(separator: ",")
        return "&LabelSelector{MatchLabels:map[string]string{\(labelText)},MatchExpressions:[]LabelSelectorRequirement{\(expressions)},}"
    }

    /// `certificatesigningrequests`: NAME, AGE, SIGNERNAME, REQUESTOR, REQUESTEDDURATION, CONDITION.
    static let certificateSigningRequests = TablePrinter(
        columns: [
            .name, .age,
            .string("SignerName", "The signer the request is addressed to."),
            .string("Requestor", "The user that created the request."),
            .string("RequestedDuration", "The validity duration requested for the certificate."),
            .string("Condition", "Approval and issuance state of the request."),
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            var approved = false
            var denied = false
            var failed = false
            for condition in o["status"]["conditions"].array {
                switch condition["type"].text {
                case "Approved": approved = true
                case "Denied": denied = true
                case "Failed": failed = true
                default: break
                }
            }
            var state = denied ? "Denied" : (approved ? "Approved" : "Pending")
            if failed { state += ",Failed" }
            if !o["status"]["certificate"].text.isEmpty { state += ",Issued" }
            let duration = spec["expirationSeconds"].int.map { HumanDuration.format(.seconds($0)) } ?? "<none>"
            return [
                Format.name(o), .string(ctx.age(o)), .string(spec["signerName"].nonEmpty ?? "<none>"),
                .string(spec["username"].text), .string(duration), .string(state),
            ]
        })

    /// `flowschemas`: NAME, PRIORITYLEVEL, MATCHINGPRECEDENCE, DISTINGUISHERMETHOD, AGE, MISSINGPL.
    static let flowSchemas = TablePrinter(
        columns: [
            .name,
            .string("PriorityLevel", "The priority level the matching requests go to."),
            .string("MatchingPrecedence", "Order in which flow schemas are matched (lower first)."),
            .string("DistinguisherMethod", "How matching requests are divided into flows."),
            .age,
            .string("MissingPL", "Whether the priority level referenced is missing (Dangling condition)."),
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let distinguisher = spec["distinguisherMethod"].exists ? spec["distinguisherMethod"]["type"].text : "<none>"
            let dangling = o["status"]["conditions"].array.first { $0["type"].string == "Dangling" }?["status"].text ?? "?"
            return [
                Format.name(o), .string(spec["priorityLevelConfiguration"]["name"].text),
                .int(spec["matchingPrecedence"].integer), .string(distinguisher), .string(ctx.age(o)), .string(dangling),
            ]
        })

    /// `prioritylevelconfigurations`: NAME, TYPE, NOMINALCONCURRENCYSHARES, QUEUES, HANDSIZE,
    /// QUEUELENGTHLIMIT, AGE.
    static let priorityLevelConfigurations = TablePrinter(
        columns: [
            .name,
            .string("Type", "Whether the level is limited or exempt."),
            .string("NominalConcurrencyShares", "Share of the server's concurrency this level gets."),
            .string("Queues", "Number of queues."),
            .string("HandSize", "Number of queues a flow is shuffle-sharded to."),
            .string("QueueLengthLimit", "Maximum number of requests waiting in a queue."),
            .age,
        ],
        cells: { o, ctx in
            let none = JSONValue.string("<none>")
            var shares = none, queues = none, handSize = none, queueLength = none
            let limited = o["spec"]["limited"]
            if limited.exists {
                shares = .int(limited["nominalConcurrencyShares"].integer)
                let queuing = limited["limitResponse"]["queuing"]
                if queuing.exists {
                    queues = .int(queuing["queues"].integer)
                    handSize = .int(queuing["handSize"].integer)
                    queueLength = .int(queuing["queueLengthLimit"].integer)
                }
            }
            return [Format.name(o), .string(o["spec"]["type"].text), shares, queues, handSize, queueLength, .string(ctx.age(o))]
        })

    /// `apiservices` (kube-aggregator's printer): NAME, SERVICE, AVAILABLE, AGE.
    static let apiServices = TablePrinter(
        columns: [
            .name,
            .string("Service", "The service (namespace/name) serving this API, or Local."),
            .string("Available", "The Available condition of the API service."),
            .age,
        ],
        cells: { o, ctx in
            let service = o["spec"]["service"]
            let serviceText = service.exists ? "\(service["namespace"].text)/\(service["name"].text)" : "Local"
            var available = "Unknown"
            if let condition = o["status"]["conditions"].array.first(where: { $0["type"].string == "Available" }) {
                let status = condition["status"].text
                if status != "True", let reason = condition["reason"].nonEmpty {
                    available = "\(status) (\(reason))"
                } else {
                    available = status
                }
            }
            return [Format.name(o), .string(serviceText), .string(available), .string(ctx.age(o))]
        })
}
