import CapstanAPI

/// A pod's effective resource requests, as Kubernetes' `resource.PodRequests`:
///
/// - regular containers add up, as they run together;
/// - restartable init containers (sidecars) keep running, so they add to the regular containers
///   and to every later init container;
/// - an init container runs alone with the sidecars started before it; the pod needs the largest
///   of these moments, or the steady state if larger;
/// - pod-level `spec.resources.requests` (cpu, memory) replace the container sum;
/// - `spec.overhead` is added last.
public enum PodResources {
    /// CPU assumed for a container without a CPU request when scoring (millicores).
    public static let defaultMilliCPURequest: Int64 = 100
    /// Memory assumed for a container without a memory request when scoring (200 MiB).
    public static let defaultMemoryRequest: Int64 = 200 * 1024 * 1024

    /// The effective requests. With `nonZero`, a container missing a CPU or memory request
    /// counts the defaults above, as the scoring plugins do.
    public static func requests(_ spec: CoreV1.PodSpec?, nonZero: Bool = false) -> Resource {
        guard let spec else { return Resource() }
        var total = Resource()
        for c in spec.containers {
            total.add(containerRequests(c.resources?.requests, nonZero: nonZero))
        }
        if let inits = spec.initContainers, !inits.isEmpty {
            var sidecars = Resource()
            var initMax = Resource()
            for c in inits {
                let r = containerRequests(c.resources?.requests, nonZero: nonZero)
                if c.restartPolicy == "Always" {
                    total.add(r)
                    sidecars.add(r)
                    initMax.setMax(sidecars)
                } else {
                    initMax.setMax(r + sidecars)
                }
            }
            total.setMax(initMax)
        }
        if let podLevel = spec.resources?.requests, podLevel[ResourceName.cpu] != nil || podLevel[ResourceName.memory] != nil {
            if let cpu = podLevel[ResourceName.cpu], !cpu.isZero { total.milliCPU = cpu.milliValue }
            if let mem = podLevel[ResourceName.memory], !mem.isZero { total.memory = mem.value }
        }
        if let overhead = spec.overhead {
            for (name, q) in overhead { total.add(name, q) }
        }
        return total
    }

    static func containerRequests(_ list: [String: Quantity]?, nonZero: Bool) -> Resource {
        var r = Resource(list)
        if nonZero {
            if list?[ResourceName.cpu] == nil { r.milliCPU += defaultMilliCPURequest }
            if list?[ResourceName.memory] == nil { r.memory += defaultMemoryRequest }
        }
        return r
    }
}
