import CapstanAPI

extension TablePrinter {
    /// `pods`: NAME, READY, STATUS, RESTARTS, AGE; wide IP, NODE, NOMINATED NODE, READINESS GATES.
    static let pods = TablePrinter(
        columns: [
            .name,
            .string("Ready", "Ready containers out of all containers of the pod."),
            .string("Status", "Summary of the pod's phase and container states."),
            .string("Restarts", "Container restarts, and how long ago the last one happened."),
            .age,
            .string("IP", "IP address allocated to the pod.", priority: 1),
            .string("Node", "Name of the node the pod is bound to.", priority: 1),
            .string("Nominated Node", "Node the scheduler nominated for this pod when it preempted others.", priority: 1),
            .string("Readiness Gates", "Readiness gates that are true, out of all the pod's readiness gates.", priority: 1),
        ],
        row: podRow)

    /// The kubelet-style summary `kubectl get pods` shows.
    static func podRow(_ pod: JSONNode, _ context: PrintContext) -> PrintedRow {
        let spec = pod["spec"]
        let status = pod["status"]
        var restarts: Int64 = 0
        var restartableInitRestarts: Int64 = 0
        var totalContainers = spec["containers"].count
        var readyContainers = 0
        var lastRestart: Int64?
        var lastRestartableInitRestart: Int64?

        let phase = status["phase"].text
        var reason = status["reason"].nonEmpty ?? phase

        for condition in status["conditions"].array
        where condition["type"].string == "PodScheduled" && condition["reason"].string == "SchedulingGated" {
            reason = "SchedulingGated"
        }

        var conditions: [TableRowCondition] = []
        switch phase {
        case "Succeeded": conditions = [.podSucceeded]
        case "Failed": conditions = [.podFailed]
        default: break
        }

        let initContainers = spec["initContainers"].array
        var restartableInit = Set<String>()
        for container in initContainers where container["restartPolicy"].string == "Always" {
            restartableInit.insert(container["name"].text)
            totalContainers += 1
        }

        func later(_ current: Int64?, _ status: JSONNode) -> Int64? {
            let terminated = status["lastState"]["terminated"]
            guard terminated.exists, let finished = terminated["finishedAt"].timestampMicros else { return current }
            guard let current else { return finished }
            return max(current, finished)
        }

        var initializing = false
        for (i, container) in status["initContainerStatuses"].array.enumerated() {
            restarts += container["restartCount"].integer
            lastRestart = later(lastRestart, container)
            let restartable = restartableInit.contains(container["name"].text)
            if restartable {
                restartableInitRestarts += container["restartCount"].integer
                lastRestartableInitRestart = later(lastRestartableInitRestart, container)
            }
            let terminated = container["state"]["terminated"]
            let waiting = container["state"]["waiting"]
            if terminated.exists && terminated["exitCode"].integer == 0 {
                continue
            }
            if restartable && container["started"].flag {
                if container["ready"].flag { readyContainers += 1 }
                continue
            }
            if terminated.exists {
                // Initialization failed.
                if let r = terminated["reason"].nonEmpty {
                    reason = "Init:" + r
                } else if terminated["signal"].integer != 0 {
                    reason = "Init:Signal:\(terminated["signal"].integer)"
                } else {
                    reason = "Init:ExitCode:\(terminated["exitCode"].integer)"
                }
            } else if let r = waiting["reason"].nonEmpty, waiting.exists, r != "PodInitializing" {
                reason = "Init:" + r
            } else {
                reason = "Init:\(i)/\(initContainers.count)"
            }
            initializing = true
            break
        }

        let initialized = status["conditions"].array.first { $0["type"].string == "Initialized" }?["status"].string == "True"
        if !initializing || initialized {
            restarts = restartableInitRestarts
            lastRestart = lastRestartableInitRestart
            var hasRunning = false
            for container in status["containerStatuses"].array.reversed() {
                restarts += container["restartCount"].integer
                lastRestart = later(lastRestart, container)
                let waiting = container["state"]["waiting"]
                let terminated = container["state"]["terminated"]
                if waiting.exists, let r = waiting["reason"].nonEmpty {
                    reason = r
                } else if terminated.exists, let r = terminated["reason"].nonEmpty {
                    reason = r
                } else if terminated.exists {
                    if terminated["signal"].integer != 0 {
                        reason = "Signal:\(terminated["signal"].integer)"
                    } else {
                        reason = "ExitCode:\(terminated["exitCode"].integer)"
                    }
                } else if container["ready"].flag && container["state"]["running"].exists {
                    hasRunning = true
                    readyContainers += 1
                }
            }
            // Back to Running when a container still runs although another completed.
            if reason == "Completed" && hasRunning {
                let ready = status["conditions"].array.contains { $0["type"].string == "Ready" && $0["status"].string == "True" }
                reason = ready ? "Running" : "NotReady"
            }
        }

        let deleting = pod["metadata"]["deletionTimestamp"].exists
        if deleting && status["reason"].string == "NodeLost" {
            reason = "Unknown"
        } else if deleting && phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating"
        }

        var restartsText = String(restarts)
        if restarts != 0, let last = lastRestart {
            restartsText = "\(restarts) (\(context.since(micros: last)) ago)"
        }

        let podIP = status["podIP"].nonEmpty ?? status["podIPs"].array.first?["ip"].nonEmpty ?? "<none>"
        let node = spec["nodeName"].nonEmpty ?? "<none>"
        let nominated = status["nominatedNodeName"].nonEmpty ?? "<none>"
        var readinessGates = "<none>"
        let gates = spec["readinessGates"].array
        if !gates.isEmpty {
            var trueConditions = 0
            for gate in gates {
                let type = gate["conditionType"].text
                if let condition = status["conditions"].array.first(where: { $0["type"].text == type }),
                   condition["status"].string == "True" {
                    trueConditions += 1
                }
            }
            readinessGates = "\(trueConditions)/\(gates.count)"
        }

        return PrintedRow(
            cells: [
                Format.name(pod), .string("\(readyContainers)/\(totalContainers)"), .string(reason),
                .string(restartsText), .string(context.age(pod)),
                .string(podIP), .string(node), .string(nominated), .string(readinessGates),
            ],
            conditions: conditions)
    }

    /// `podtemplates`: NAME, CONTAINERS, IMAGES, POD LABELS.
    static let podTemplates = TablePrinter(
        columns: [
            .name,
            .string("Containers", "Container names of the template."),
            .string("Images", "Container images of the template."),
            .string("Pod Labels", "Labels of the pods created from the template."),
        ],
        cells: { o, _ in
            let (names, images) = Format.containers(o["template"]["spec"])
            return [Format.name(o), .string(names), .string(images), .string(Format.labels(o["template"]["metadata"]["labels"]))]
        })
}
