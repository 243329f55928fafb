import CapstanAPI

extension TablePrinter {
    /// `ingresses`: NAME, CLASS, HOSTS, ADDRESS, PORTS, AGE.
    static let ingresses = TablePrinter(
        columns: [
            .name,
            .string("Class", "The ingress class handling this ingress."),
            .string("Hosts", "Hosts the rules match."),
            .string("Address", "Addresses of the load balancer serving the ingress."),
            .string("Ports", "Ports served: 80, and 443 with TLS."),
            .age,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let rules = spec["rules"].array
            var hosts: [String] = []
            var more = false
            for rule in rules {
                if hosts.count == 3 { more = true }
                if !more, let host = rule["host"].nonEmpty { hosts.append(host) }
            }
            var hostText = hosts.isEmpty ? "*" : hosts.joined(separator: ",")
            if !hosts.isEmpty && more { hostText += " + \(rules.count - 3) more..." }
            let address = loadBalancerAddresses(o["status"]["loadBalancer"]["ingress"]).joined(separator: ",")
            return [
                Format.name(o), .string(spec["ingressClassName"].string ?? "<none>"), .string(hostText),
                .string(address), .string(spec["tls"].count > 0 ? "80, 443" : "80"), .string(ctx.age(o)),
            ]
        })

    /// `ingressclasses`: NAME, CONTROLLER, PARAMETERS, AGE.
    static let ingressClasses = TablePrinter(
        columns: [
            .name,
            .string("Controller", "The controller implementing the class."),
            .string("Parameters", "The resource holding parameters for the class."),
            .age,
        ],
        cells: { o, ctx in
            var parameters = "<none>"
            let p = o["spec"]["parameters"]
            if p.exists {
                parameters = p["kind"].text
                if let group = p["apiGroup"].string { parameters += "." + group }
                parameters += "/" + p["name"].text
            }
            return [Format.name(o), .string(o["spec"]["controller"].text), .string(parameters), .string(ctx.age(o))]
        })

    /// `networkpolicies`: NAME, POD-SELECTOR, AGE.
    static let networkPolicies = TablePrinter(
        columns: [.name, .string("Pod-Selector", "Selects the pods the policy applies to."), .age],
        cells: { o, ctx in
            [Format.name(o), .string(Format.labelSelector(emptySelectorIfAbsent(o["spec"]["podSelector"]))),
             .string(ctx.age(o))]
        })

    /// A non-pointer selector field reads as the empty selector when absent.
    private static func emptySelectorIfAbsent(_ node: JSONNode) -> JSONNode {
        node.exists ? node : JSONNode(.object([:]))
    }

    /// `endpointslices`: NAME, ADDRESSTYPE, PORTS, ENDPOINTS, AGE.
    static let endpointSlices = TablePrinter(
        columns: [
            .name,
            .string("AddressType", "Type of the addresses in the slice (IPv4, IPv6, FQDN)."),
            .string("Ports", "Ports of the endpoints."),
            .string("Endpoints", "Addresses of the endpoints."),
            .age,
        ],
        cells: { o, ctx in
            let ports = o["ports"].array.map { port -> String in
                if let n = port["port"].int { return String(n) }
                return port["name"].string ?? "*"
            }
            let addresses = o["endpoints"].array.flatMap { $0["addresses"].array.map(\.text) }
            return [
                Format.name(o), .string(o["addressType"].text), .string(Format.listWithMore(ports)),
                .string(Format.listWithMore(addresses)), .string(ctx.age(o)),
            ]
        })

    /// `servicecidrs`: NAME, CIDRS, AGE.
    static let serviceCIDRs = TablePrinter(
        columns: [.name, .string("CIDRs", "The CIDRs service IPs are allocated from."), .age],
        cells: { o, ctx in
            [Format.name(o), .string(o["spec"]["cidrs"].array.map(\.text).joined(separator: ",")), .string(ctx.age(o))]
        })

    /// `ipaddresses`: NAME, PARENTREF.
    static let ipAddresses = TablePrinter(
        columns: [.name, .string("ParentRef", "The object the IP address is allocated to.")],
        cells: { o, _ in
            var parent = "<none>"
            let ref = o["spec"]["parentRef"]
            if ref.exists {
                let resource = ref["resource"].text
                let group = ref["group"].text
                parent = (group.isEmpty ? resource : "\(resource).\(group)").lowercased()
                if let ns = ref["namespace"].nonEmpty { parent += "/" + ns }
                parent += "/" + ref["name"].text
            }
            return [Format.name(o), .string(parent)]
        })
}
