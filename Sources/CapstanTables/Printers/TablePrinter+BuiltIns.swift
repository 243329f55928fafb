extension TablePrinter {
    /// Every built-in resource with a dedicated printer in Kubernetes 1.33. The rest (roles,
    /// clusterroles, limitranges, customresourcedefinitions, bindings, reviews, ...) print with
    /// `TablePrinter.default`.
    static let builtIns: [BuiltInKey: TablePrinter] = {
        let table: [(String, String, TablePrinter)] = [
            ("", "pods", .pods),
            ("", "podtemplates", .podTemplates),
            ("", "replicationcontrollers", .replicationControllers),
            ("", "services", .services),
            ("", "endpoints", .endpoints),
            ("", "nodes", .nodes),
            ("", "namespaces", .namespaces),
            ("", "configmaps", .configMaps),
            ("", "secrets", .secrets),
            ("", "serviceaccounts", .serviceAccounts),
            ("", "events", .events),
            ("", "persistentvolumes", .persistentVolumes),
            ("", "persistentvolumeclaims", .persistentVolumeClaims),
            ("", "resourcequotas", .resourceQuotas),
            ("", "componentstatuses", .componentStatuses),
            ("apps", "deployments", .deployments),
            ("apps", "replicasets", .replicaSets),
            ("apps", "statefulsets", .statefulSets),
            ("apps", "daemonsets", .daemonSets),
            ("apps", "controllerrevisions", .controllerRevisions),
            ("batch", "jobs", .jobs),
            ("batch", "cronjobs", .cronJobs),
            ("autoscaling", "horizontalpodautoscalers", .horizontalPodAutoscalers),
            ("policy", "poddisruptionbudgets", .podDisruptionBudgets),
            ("events.k8s.io", "events", .events),
            ("discovery.k8s.io", "endpointslices", .endpointSlices),
            ("networking.k8s.io", "ingresses", .ingresses),
            ("networking.k8s.io", "ingressclasses", .ingressClasses),
            ("networking.k8s.io", "networkpolicies", .networkPolicies),
            ("networking.k8s.io", "servicecidrs", .serviceCIDRs),
            ("networking.k8s.io", "ipaddresses", .ipAddresses),
            ("rbac.authorization.k8s.io", "rolebindings", .bindings),
            ("rbac.authorization.k8s.io", "clusterrolebindings", .bindings),
            ("coordination.k8s.io", "leases", .leases),
            ("scheduling.k8s.io", "priorityclasses", .priorityClasses),
            ("node.k8s.io", "runtimeclasses", .runtimeClasses),
            ("storage.k8s.io", "storageclasses", .storageClasses),
            ("storage.k8s.io", "csidrivers", .csiDrivers),
            ("storage.k8s.io", "csinodes", .csiNodes),
            ("storage.k8s.io", "csistoragecapacities", .csiStorageCapacities),
            ("storage.k8s.io", "volumeattachments", .volumeAttachments),
            ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", .webhookConfigurations),
            ("admissionregistration.k8s.io", "validatingwebhookconfigurations", .webhookConfigurations),
            ("admissionregistration.k8s.io", "validatingadmissionpolicies", .validatingAdmissionPolicies),
            ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", .validatingAdmissionPolicyBindings),
            ("certificates.k8s.io", "certificatesigningrequests", .certificateSigningRequests),
            ("flowcontrol.apiserver.k8s.io", "flowschemas", .flowSchemas),
            ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", .priorityLevelConfigurations),
            ("apiregistration.k8s.io", "apiservices", .apiServices),
        ]
        var out: [BuiltInKey: TablePrinter] = [:]
        for (group, resource, printer) in table {
            out[BuiltInKey(group: group, resource: resource)] = printer
        }
        return out
    }()
}
