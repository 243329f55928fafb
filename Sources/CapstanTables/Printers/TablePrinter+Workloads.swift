import CapstanAPI

extension TablePrinter {
    /// `deployments`: NAME, READY, UP-TO-DATE, AVAILABLE, AGE; wide CONTAINERS, IMAGES, SELECTOR.
    static let deployments = TablePrinter(
        columns: [
            .name,
            .string("Ready", "Ready pods out of desired pods."),
            .string("Up-to-date", "Pods running the current template."),
            .string("Available", "Pods available to serve (ready for minReadySeconds)."),
            .age, .containers, .images, .selector,
        ],
        cells: { o, ctx in
            let desired = o["spec"]["replicas"].int ?? 1
            let (names, images) = Format.containers(o["spec"]["template"]["spec"])
            return [
                Format.name(o), .string("\(o["status"]["readyReplicas"].integer)/\(desired)"),
                .int(o["status"]["updatedReplicas"].integer), .int(o["status"]["availableReplicas"].integer),
                .string(ctx.age(o)), .string(names), .string(images),
                .string(Format.selector(o["spec"]["selector"]) ?? "<invalid>"),
            ]
        })

    /// `replicasets`: NAME, DESIRED, CURRENT, READY, AGE; wide CONTAINERS, IMAGES, SELECTOR.
    static let replicaSets = replicaTable(selector: { Format.labelSelector($0) })

    /// `replicationcontrollers`: as replica sets, with a map selector.
    static let replicationControllers = replicaTable(selector: { Format.labels($0) })

    private static func replicaTable(selector: @escaping @Sendable (JSONNode) -> String) -> TablePrinter {
        TablePrinter(
            columns: [
                .name,
                .integer("Desired", "Number of desired pods (spec.replicas)."),
                .integer("Current", "Number of most recently observed pods (status.replicas)."),
                .integer("Ready", "Number of ready pods targeted by this controller."),
                .age, .containers, .images, .selector,
            ],
            cells: { o, ctx in
                let (names, images) = Format.containers(o["spec"]["template"]["spec"])
                return [
                    Format.name(o), .int(o["spec"]["replicas"].int ?? 1), .int(o["status"]["replicas"].integer),
                    .int(o["status"]["readyReplicas"].integer), .string(ctx.age(o)),
                    .string(names), .string(images), .string(selector(o["spec"]["selector"])),
                ]
            })
    }

    /// `statefulsets`: NAME, READY, AGE; wide CONTAINERS, IMAGES.
    static let statefulSets = TablePrinter(
        columns: [.name, .string("Ready", "Ready pods out of desired pods."), .age, .containers, .images],
        cells: { o, ctx in
            let (names, images) = Format.containers(o["spec"]["template"]["spec"])
            return [
                Format.name(o), .string("\(o["status"]["readyReplicas"].integer)/\(o["spec"]["replicas"].int ?? 1)"),
                .string(ctx.age(o)), .string(names), .string(images),
            ]
        })

    /// `daemonsets`: NAME, DESIRED, CURRENT, READY, UP-TO-DATE, AVAILABLE, NODE SELECTOR, AGE;
    /// wide CONTAINERS, IMAGES, SELECTOR.
    static let daemonSets = TablePrinter(
        columns: [
            .name,
            .integer("Desired", "Number of nodes that should run the daemon pod."),
            .integer("Current", "Number of nodes running at least one daemon pod that should."),
            .integer("Ready", "Number of nodes whose daemon pod is ready."),
            .integer("Up-to-date", "Number of nodes running the updated daemon pod."),
            .integer("Available", "Number of nodes whose daemon pod is available."),
            .string("Node Selector", "Node selector of the pod template."),
            .age, .containers, .images, .selector,
        ],
        cells: { o, ctx in
            let s = o["status"]
            let podSpec = o["spec"]["template"]["spec"]
            let (names, images) = Format.containers(podSpec)
            return [
                Format.name(o), .int(s["desiredNumberScheduled"].integer), .int(s["currentNumberScheduled"].integer),
                .int(s["numberReady"].integer), .int(s["updatedNumberScheduled"].integer),
                .int(s["numberAvailable"].integer), .string(Format.labels(podSpec["nodeSelector"])),
                .string(ctx.age(o)), .string(names), .string(images),
                .string(Format.labelSelector(o["spec"]["selector"])),
            ]
        })

    /// `jobs`: NAME, STATUS, COMPLETIONS, DURATION, AGE; wide CONTAINERS, IMAGES, SELECTOR.
    static let jobs = TablePrinter(
        columns: [
            .name,
            .string("Status", "Summary of the job's conditions."),
            .string("Completions", "Succeeded pods out of required completions."),
            .string("Duration", "How long the job ran, or has been running."),
            .age, .containers, .images, .selector,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let status = o["status"]
            let succeeded = status["succeeded"].integer
            let completions: String
            if let c = spec["completions"].int {
                completions = "\(succeeded)/\(c)"
            } else if let p = spec["parallelism"].int, p > 1 {
                completions = "\(succeeded)/1 of \(p)"
            } else {
                completions = "\(succeeded)/1"
            }
            var duration = ""
            if let start = status["startTime"].timestampMicros {
                if let end = status["completionTime"].timestampMicros {
                    duration = HumanDuration.format(.microseconds(end - start))
                } else {
                    duration = ctx.since(micros: start)
                }
            }
            func condition(_ type: String) -> Bool {
                status["conditions"].array.first { $0["type"].string == type }?["status"].string == "True"
            }
            let state: String
            if condition("Complete") {
                state = "Complete"
            } else if condition("Failed") {
                state = "Failed"
            } else if o["metadata"]["deletionTimestamp"].exists {
                state = "Terminating"
            } else if condition("Suspended") {
                state = "Suspended"
            } else if condition("FailureTarget") {
                state = "FailureTarget"
            } else {
                state = "Running"
            }
            let (names, images) = Format.containers(spec["template"]["spec"])
            return [
                Format.name(o), .string(state), .string(completions), .string(duration), .string(ctx.age(o)),
                .string(names), .string(images), .string(Format.labelSelector(spec["selector"])),
            ]
        })

    /// `cronjobs`: NAME, SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE, AGE; wide CONTAINERS,
    /// IMAGES, SELECTOR.
    static let cronJobs = TablePrinter(
        columns: [
            .name,
            .string("Schedule", "The schedule in Cron format."),
            .string("Timezone", "The time zone the schedule is interpreted in."),
            .boolean("Suspend", "Whether subsequent executions are suspended."),
            .integer("Active", "Number of currently running jobs."),
            .string("Last Schedule", "When the job was last successfully scheduled."),
            .age, .containers, .images, .selector,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let last = o["status"]["lastScheduleTime"].exists ? ctx.since(o["status"]["lastScheduleTime"]) : "<none>"
            let jobSpec = spec["jobTemplate"]["spec"]
            let (names, images) = Format.containers(jobSpec["template"]["spec"])
            return [
                Format.name(o), .string(spec["schedule"].text), .string(spec["timeZone"].string ?? "<none>"),
                .string(Format.optionalBool(spec["suspend"])), .int(Int64(o["status"]["active"].count)),
                .string(last), .string(ctx.age(o)), .string(names), .string(images),
                .string(Format.labelSelector(jobSpec["selector"])),
            ]
        })

    /// `controllerrevisions`: NAME, CONTROLLER, REVISION, AGE.
    static let controllerRevisions = TablePrinter(
        columns: [
            .name,
            .string("Controller", "The controller owning this revision (kind.group/name)."),
            .string("Revision", "Revision number of the state this object represents."),
            .age,
        ],
        cells: { o, ctx in
            var controller = "<none>"
            if let ref = o["metadata"]["ownerReferences"].array.first(where: { $0["controller"].flag }) {
                let group = Format.group(ofAPIVersion: ref["apiVersion"].text)
                let kind = ref["kind"].text
                let groupKind = group.isEmpty ? kind : "\(kind).\(group)"
                controller = groupKind.isEmpty ? ref["name"].text : "\(groupKind.lowercased())/\(ref["name"].text)"
            }
            return [Format.name(o), .string(controller), .int(o["revision"].integer), .string(ctx.age(o))]
        })

    /// `poddisruptionbudgets`: NAME, MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS, AGE.
    static let podDisruptionBudgets = TablePrinter(
        columns: [
            .name,
            .string("Min Available", "Pods that must stay available (number or percent)."),
            .string("Max Unavailable", "Pods that may be unavailable (number or percent)."),
            .integer("Allowed Disruptions", "Pods that may be evicted right now."),
            .age,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let minAvailable = spec["minAvailable"].exists ? Format.intOrString(spec["minAvailable"]) : "N/A"
            let maxUnavailable = spec["maxUnavailable"].exists ? Format.intOrString(spec["maxUnavailable"]) : "N/A"
            return [
                Format.name(o), .string(minAvailable), .string(maxUnavailable),
                .int(o["status"]["disruptionsAllowed"].integer), .string(ctx.age(o)),
            ]
        })

    /// `horizontalpodautoscalers` (autoscaling/v2 and v1): NAME, REFERENCE, TARGETS, MINPODS,
    /// MAXPODS, REPLICAS, AGE.
    static let horizontalPodAutoscalers = TablePrinter(
        columns: [
            .name,
            .string("Reference", "The scaled target (kind/name)."),
            .string("Targets", "Current and target values of the metrics the autoscaler follows."),
            .string("MinPods", "Lower limit for the number of pods."),
            .string("MaxPods", "Upper limit for the number of pods."),
            .string("Replicas", "Current number of replicas of pods managed by this autoscaler."),
            .age,
        ],
        cells: { o, ctx in
            let spec = o["spec"]
            let target = spec["scaleTargetRef"]
            let minPods = spec["minReplicas"].int.map { String($0) } ?? "<unset>"
            return [
                Format.name(o), .string("\(target["kind"].text)/\(target["name"].text)"),
                .string(hpaTargets(o)), .string(minPods), .int(spec["maxReplicas"].integer),
                .int(o["status"]["currentReplicas"].integer), .string(ctx.age(o)),
            ]
        })

    /// The TARGETS cell: up to two metrics as `current/target`, then "+ N more...".
    static func hpaTargets(_ hpa: JSONNode) -> String {
        let spec = hpa["spec"]
        let status = hpa["status"]
        // autoscaling/v1 carries one CPU utilization target.
        if !spec["metrics"].exists, let target = spec["targetCPUUtilizationPercentage"].int {
            let current = status["currentCPUUtilizationPercentage"].int.map { "\($0)%" } ?? "<unknown>"
            return "cpu: \(current)/\(target)%"
        }
        let specs = spec["metrics"].array
        if specs.isEmpty { return "<none>" }
        let statuses = status["currentMetrics"].array
        func current(_ i: Int, _ key: String) -> JSONNode? {
            guard i < statuses.count, statuses[i][key].exists else { return nil }
            return statuses[i][key]["current"]
        }
        func quantity(_ node: JSONNode) -> String {
            node.exists ? Format.quantity(node) : "<nil>"
        }
        var list: [String] = []
        for (i, metric) in specs.enumerated() {
            switch metric["type"].text {
            case "External", "Object":
                let key = metric["type"].text == "External" ? "external" : "object"
                let target = metric[key]["target"]
                if target["averageValue"].exists {
                    var cur = "<unknown>"
                    if let c = current(i, key), c["averageValue"].exists { cur = quantity(c["averageValue"]) }
                    list.append("\(cur)/\(quantity(target["averageValue"])) (avg)")
                } else {
                    let cur = current(i, key).map { quantity($0["value"]) } ?? "<unknown>"
                    list.append("\(cur)/\(quantity(target["value"]))")
                }
            case "Pods":
                let cur = current(i, "pods").map { quantity($0["averageValue"]) } ?? "<unknown>"
                list.append("\(cur)/\(quantity(metric["pods"]["target"]["averageValue"]))")
            case "Resource", "ContainerResource":
                let key = metric["type"].text == "Resource" ? "resource" : "containerResource"
                let source = metric[key]
                let target = source["target"]
                let name = source["name"].text
                if target["averageValue"].exists {
                    let cur = current(i, key).map { quantity($0["averageValue"]) } ?? "<unknown>"
                    list.append("\(name): \(cur)/\(quantity(target["averageValue"]))")
                } else {
                    var cur = "<unknown>"
                    if let c = current(i, key), let u = c["averageUtilization"].int { cur = "\(u)%" }
                    let goal = target["averageUtilization"].int.map { "\($0)%" } ?? "<auto>"
                    list.append("\(name): \(cur)/\(goal)")
                }
            default:
                list.append("<unknown type>")
            }
        }
        if list.count > 2 {
            return list.prefix(2).joined(separator: ", ") + " + \(list.count - 2) more..."
        }
        return list.joined(separator: ", ")
    }
}
