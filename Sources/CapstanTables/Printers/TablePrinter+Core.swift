import CapstanAPI

extension TablePrinter {
    /// `services`: NAME, TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE; wide SELECTOR.
    static let services = TablePrinter(
        columns: [
            .name,
            .string("Type", "How the service is exposed (ClusterIP, NodePort, LoadBalancer, ExternalName)."),
            .string("Cluster-IP", "The IP address of the service inside the cluster."),
            .string("External-IP", "External addresses the service is reachable at."),
            .string("Port(s)", "Ports the service exposes, with node ports."),
            .age,
            .string("Selector", "Label selector of the pods that back the service.", priority: 1),
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let clusterIP = spec["clusterIP"].nonEmpty ?? spec["clusterIPs"].array.first?.nonEmpty ?? "<none>"
            let ports = spec["ports"].array.map { port -> String in
                let proto = port["protocol"].nonEmpty ?? "TCP"
                if let nodePort = port["nodePort"].int, nodePort > 0 {
                    return "\(port["port"].integer):\(nodePort)/\(proto)"
                }
                return "\(port["port"].integer)/\(proto)"
            }.joined(separator: ",")
            return [
                Format.name(o), .string(spec["type"].nonEmpty ?? "ClusterIP"), .string(clusterIP),
                .string(serviceExternalIP(o)), .string(ports.isEmpty ? "<none>" : ports), .string(ctx.age(o)),
                .string(Format.labels(spec["selector"])),
            ]
        })

    static func serviceExternalIP(_ service: JSONNode) -> String {
        let spec = service["spec"]
        let externalIPs = spec["externalIPs"].array.compactMap(\.string)
        switch spec["type"].nonEmpty ?? "ClusterIP" {
        case "ClusterIP", "NodePort":
            return externalIPs.isEmpty ? "<none>" : externalIPs.joined(separator: ",")
        case "LoadBalancer":
            let lb = loadBalancerAddresses(service["status"]["loadBalancer"]["ingress"])
            if !externalIPs.isEmpty { return (lb + externalIPs).joined(separator: ",") }
            return lb.isEmpty ? "<pending>" : lb.joined(separator: ",")
        case "ExternalName":
            return spec["externalName"].text
        default:
            return "<unknown>"
        }
    }

    /// Distinct IPs (else hostnames) of load-balancer ingress points, sorted. The server prints
    /// wide, so the list is never clipped.
    static func loadBalancerAddresses(_ ingress: JSONNode) -> [String] {
        var set = Set<String>()
        for point in ingress.array {
            if let ip = point["ip"].nonEmpty {
                set.insert(ip)
            } else if let host = point["hostname"].nonEmpty {
                set.insert(host)
            }
        }
        return set.sorted(by: Format.byteOrder)
    }

    /// `endpoints`: NAME, ENDPOINTS, AGE.
    static let endpoints = TablePrinter(
        columns: [.name, .string("Endpoints", "Addresses and ports of the endpoints."), .age],
        cells: { o, ctx in [Format.name(o), .string(formatEndpoints(o["subsets"])), .string(ctx.age(o))] })

    static func formatEndpoints(_ subsets: JSONNode) -> String {
        let subsets = subsets.array
        if subsets.isEmpty { return "<none>" }
        let max = 3
        var list: [String] = []
        var more = false
        var count = 0
        for subset in subsets {
            let addresses = subset["addresses"].array
            let ports = subset["ports"].array
            if ports.isEmpty {
                count += addresses.count
                for address in addresses {
                    if list.count == max {
                        more = true
                        break
                    }
                    list.append(address["ip"].text)
                }
                continue
            }
            for port in ports {
                count += addresses.count
                for address in addresses {
                    if list.count == max {
                        more = true
                        break
                    }
                    list.append(Format.hostPort(address["ip"].text, port["port"].integer))
                }
            }
        }
        let joined = list.joined(separator: ",")
        return more ? "\(joined) + \(count - max) more..." : joined
    }

    /// `nodes`: NAME, STATUS, ROLES, AGE, VERSION; wide INTERNAL-IP, EXTERNAL-IP, OS-IMAGE,
    /// KERNEL-VERSION, CONTAINER-RUNTIME.
    static let nodes = TablePrinter(
        columns: [
            .name,
            .string("Status", "Readiness of the node, and whether it is cordoned."),
            .string("Roles", "Roles from the node-role.kubernetes.io/ labels."),
            .age,
            .string("Version", "Kubelet version reported by the node."),
            .string("Internal-IP", "First internal IP address of the node.", priority: 1),
            .string("External-IP", "First external IP address of the node.", priority: 1),
            .string("OS-Image", "OS image reported by the node.", priority: 1),
            .string("Kernel-Version", "Kernel version reported by the node.", priority: 1),
            .string("Container-Runtime", "Container runtime and version reported by the node.", priority: 1),
        ],
        cells: { o, ctx in
            let status = o["status"]
            var states: [String] = []
            if let ready = status["conditions"].array.last(where: { $0["type"].string == "Ready" }) {
                states.append(ready["status"].string == "True" ? "Ready" : "NotReady")
            }
            if states.isEmpty { states.append("Unknown") }
            if o["spec"]["unschedulable"].flag { states.append("SchedulingDisabled") }

            var roles = Set<String>()
            for (key, value) in o["metadata"]["labels"].stringMap {
                if key.hasPrefix("node-role.kubernetes.io/") {
                    let role = String(key.dropFirst("node-role.kubernetes.io/".count))
                    if !role.isEmpty { roles.insert(role) }
                } else if key == "kubernetes.io/role", !value.isEmpty {
                    roles.insert(value)
                }
            }
            let roleText = roles.sorted(by: Format.byteOrder).joined(separator: ",")

            func address(_ type: String) -> String {
                status["addresses"].array.first { $0["type"].string == type }?["address"].string ?? "<none>"
            }
            let info = status["nodeInfo"]
            return [
                Format.name(o), .string(states.joined(separator: ",")), .string(roleText.isEmpty ? "<none>" : roleText),
                .string(ctx.age(o)), .string(info["kubeletVersion"].text),
                .string(address("InternalIP")), .string(address("ExternalIP")),
                .string(info["osImage"].nonEmpty ?? "<unknown>"), .string(info["kernelVersion"].nonEmpty ?? "<unknown>"),
                .string(info["containerRuntimeVersion"].nonEmpty ?? "<unknown>"),
            ]
        })

    /// `namespaces`: NAME, STATUS, AGE.
    static let namespaces = TablePrinter(
        columns: [.name, .string("Status", "Phase of the namespace (Active, Terminating)."), .age],
        cells: { o, ctx in [Format.name(o), .string(o["status"]["phase"].text), .string(ctx.age(o))] })

    /// `configmaps`: NAME, DATA, AGE.
    static let configMaps = TablePrinter(
        columns: [.name, .string("Data", "Number of entries in data and binaryData."), .age],
        cells: { o, ctx in
            [Format.name(o), .int(Int64(o["data"].count + o["binaryData"].count)), .string(ctx.age(o))]
        })

    /// `secrets`: NAME, TYPE, DATA, AGE.
    static let secrets = TablePrinter(
        columns: [.name, .string("Type", "Type of the secret."), .string("Data", "Number of entries in data."), .age],
        cells: { o, ctx in
            [Format.name(o), .string(o["type"].text), .int(Int64(o["data"].count)), .string(ctx.age(o))]
        })

    /// `serviceaccounts`: NAME, SECRETS, AGE.
    static let serviceAccounts = TablePrinter(
        columns: [.name, .string("Secrets", "Number of secrets the service account lists."), .age],
        cells: { o, ctx in [Format.name(o), .int(Int64(o["secrets"].count)), .string(ctx.age(o))] })

    /// `events` (core/v1 and events.k8s.io/v1): LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; wide
    /// SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME.
    static let events = TablePrinter(
        columns: [
            .string("Last Seen", "Time since the event was last observed."),
            .string("Type", "Type of the event (Normal, Warning)."),
            .string("Reason", "Short reason for the event."),
            .string("Object", "The object the event is about (kind/name)."),
            .string("Subobject", "Field path of the part of the object the event is about.", priority: 1),
            .string("Source", "The component (and host) that reported the event.", priority: 1),
            .string("Message", "Description of the event."),
            .string("First Seen", "Time since the event was first observed.", priority: 1),
            .string("Count", "Number of times the event occurred.", priority: 1),
            TableColumnDefinition(name: "Name", type: "string", format: "name",
                                  description: TableColumnDefinition.nameDescription, priority: 1),
        ],
        cells: eventCells)

    static func eventCells(_ o: JSONNode, _ ctx: PrintContext) -> [JSONValue] {
        // events.k8s.io/v1 names the core fields differently.
        let isEventsAPI = Format.group(ofAPIVersion: o["apiVersion"].text) == "events.k8s.io"
            || (!o["involvedObject"].exists && o["regarding"].exists)
        let involved = isEventsAPI ? o["regarding"] : o["involvedObject"]
        let firstTimestamp = isEventsAPI ? o["deprecatedFirstTimestamp"] : o["firstTimestamp"]
        let lastTimestamp = isEventsAPI ? o["deprecatedLastTimestamp"] : o["lastTimestamp"]
        let source = isEventsAPI ? o["deprecatedSource"] : o["source"]
        let message = isEventsAPI ? o["note"] : o["message"]
        var count = (isEventsAPI ? o["deprecatedCount"] : o["count"]).integer

        var first = ctx.since(firstTimestamp)
        if firstTimestamp.timestampMicros == nil { first = ctx.since(o["eventTime"]) }
        var last = ctx.since(lastTimestamp)
        if lastTimestamp.timestampMicros == nil { last = first }
        if o["series"].exists {
            last = ctx.since(o["series"]["lastObservedTime"])
            count = o["series"]["count"].integer
        } else if count == 0 {
            count = 1
        }
        let kind = involved["kind"].text.lowercased()
        let target = involved["name"].nonEmpty.map { "\(kind)/\($0)" } ?? kind
        let component = source["component"].nonEmpty ?? o["reportingController"].text
        let host = source["host"].nonEmpty ?? o["reportingInstance"].text
        let sourceText = host.isEmpty ? component : "\(component), \(host)"
        return [
            .string(last), .string(o["type"].text), .string(o["reason"].text), .string(target),
            .string(involved["fieldPath"].text), .string(sourceText),
            .string(Format.trimSpace(message.text)), .string(first), .int(count), Format.name(o),
        ]
    }

    /// `persistentvolumes`: NAME, CAPACITY, ACCESS MODES, RECLAIM POLICY, STATUS, CLAIM,
    /// STORAGECLASS, VOLUMEATTRIBUTESCLASS, REASON, AGE; wide VOLUMEMODE.
    static let persistentVolumes = TablePrinter(
        columns: [
            .name,
            .string("Capacity", "Storage capacity of the volume."),
            .string("Access Modes", "Access modes of the volume."),
            .string("Reclaim Policy", "What happens to the volume when released from its claim."),
            .string("Status", "Phase of the volume."),
            .string("Claim", "The claim bound to the volume (namespace/name)."),
            .string("StorageClass", "Storage class of the volume."),
            .string("VolumeAttributesClass", "Volume attributes class of the volume."),
            .string("Reason", "Reason for a failed phase."),
            .age,
            .string("VolumeMode", "Whether the volume is a filesystem or a block device.", priority: 1),
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            var claim = ""
            if spec["claimRef"].exists {
                claim = "\(spec["claimRef"]["namespace"].text)/\(spec["claimRef"]["name"].text)"
            }
            let phase = o["metadata"]["deletionTimestamp"].exists ? "Terminating" : o["status"]["phase"].text
            let storageClass = o["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"].string
                ?? spec["storageClassName"].text
            return [
                Format.name(o), .string(Format.quantity(spec["capacity"]["storage"])),
                .string(Format.accessModes(spec["accessModes"])), .string(spec["persistentVolumeReclaimPolicy"].text),
                .string(phase), .string(claim), .string(storageClass),
                .string(spec["volumeAttributesClassName"].string ?? "<unset>"), .string(o["status"]["reason"].text),
                .string(ctx.age(o)), .string(spec["volumeMode"].string ?? "<unset>"),
            ]
        })

    /// `persistentvolumeclaims`: NAME, STATUS, VOLUME, CAPACITY, ACCESS MODES, STORAGECLASS,
    /// VOLUMEATTRIBUTESCLASS, AGE; wide VOLUMEMODE.
    static let persistentVolumeClaims = TablePrinter(
        columns: [
            .name,
            .string("Status", "Phase of the claim."),
            .string("Volume", "The volume bound to the claim."),
            .string("Capacity", "Storage capacity of the bound volume."),
            .string("Access Modes", "Access modes of the bound volume."),
            .string("StorageClass", "Storage class requested by the claim."),
            .string("VolumeAttributesClass", "Volume attributes class requested by the claim."),
            .age,
            .string("VolumeMode", "Whether the claim is for a filesystem or a block device.", priority: 1),
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let phase = o["metadata"]["deletionTimestamp"].exists ? "Terminating" : o["status"]["phase"].text
            var capacity = ""
            var accessModes = ""
            if let volume = spec["volumeName"].nonEmpty, !volume.isEmpty {
                accessModes = Format.accessModes(o["status"]["accessModes"])
                capacity = Format.quantity(o["status"]["capacity"]["storage"])
            }
            let storageClass = o["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"].string
                ?? spec["storageClassName"].text
            return [
                Format.name(o), .string(phase), .string(spec["volumeName"].text), .string(capacity),
                .string(accessModes), .string(storageClass),
                .string(spec["volumeAttributesClassName"].string ?? "<unset>"), .string(ctx.age(o)),
                .string(spec["volumeMode"].string ?? "<unset>"),
            ]
        })

    /// `resourcequotas`: NAME, REQUEST, LIMIT, AGE.
    static let resourceQuotas = TablePrinter(
        columns: [
            .name,
            .string("Request", "Used and hard amounts of the quota's non-limit resources."),
            .string("Limit", "Used and hard amounts of the quota's limits.* resources."),
            .age,
        ],
        cells: { o, ctx in
            let hard = o["status"]["hard"]
            let used = o["status"]["used"]
            var requests: [String] = []
            var limits: [String] = []
            for resource in hard.object.keys.sorted(by: Format.byteOrder) {
                let entry = "\(resource): \(Format.quantity(used[resource]))/\(Format.quantity(hard[resource]))"
                let pieces = resource.split(separator: ".", omittingEmptySubsequences: false)
                if pieces.count > 1 && pieces[0] == "limits" {
                    limits.append(entry)
                } else {
                    requests.append(entry)
                }
            }
            return [
                Format.name(o), .string(requests.joined(separator: ", ")), .string(limits.joined(separator: ", ")),
                .string(ctx.age(o)),
            ]
        })

    /// `componentstatuses`: NAME, STATUS, MESSAGE, ERROR.
    static let componentStatuses = TablePrinter(
        columns: [
            .name,
            .string("Status", "Health of the component."),
            .string("Message", "Message of the health check."),
            .string("Error", "Error of the health check."),
        ],
        cells: { o, _ in
            var status = "Unknown"
            var message = ""
            var error = ""
            if let healthy = o["conditions"].array.first(where: { $0["type"].string == "Healthy" }) {
                status = healthy["status"].string == "True" ? "Healthy" : "Unhealthy"
                message = healthy["message"].text
                error = healthy["error"].text
            }
            return [Format.name(o), .string(status), .string(message), .string(error)]
        })
}
