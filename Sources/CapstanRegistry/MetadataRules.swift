import CapstanAPI
import CapstanAPIMachinery

/// Which name rules each kind follows (Kubernetes' per-strategy name validation).
enum MetadataRules {
    static func nameValidator(for info: ResourceInfo) -> NameValidator {
        switch (info.group, info.plural) {
        case ("", "namespaces"): return .dns1123Label
        case ("", "services"): return .dns1035Label
        case ("rbac.authorization.k8s.io", _), ("", "nodes"), ("", "serviceaccounts"), ("", "events"),
             ("events.k8s.io", "events"), ("certificates.k8s.io", _):
            return .pathSegment
        default: return .dns1123Subdomain
        }
    }
}
