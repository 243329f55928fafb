import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanNodeSimulator
import CapstanScheduler
import CapstanTesting
import Foundation
import Testing

/// Jobs, DaemonSets and Services end to end: the scheduler binds, simulated nodes run the pods.
@Suite struct SimulatedClusterTests {
    @Test func jobDaemonSetAndServiceOnSimulatedNodes() async throws {
        try await withSimulatedCluster([JobController(), DaemonSetController(), EndpointSliceController()]) { client, _ in
            // A Job whose pods finish by themselves.
            var spec = BatchV1.JobSpec(template: CoreV1.PodTemplateSpec(
                metadata: MetaV1.ObjectMeta(annotations: [NodeSimulator.completeAfterAnnotation: "200ms"]),
                spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main")], restartPolicy: "Never")))
            spec.completions = 4
            spec.parallelism = 2
            _ = try await client.create(BatchV1.Job(metadata: MetaV1.ObjectMeta(name: "batch", namespace: "default"), spec: spec))

            // A DaemonSet with a Service in front of it.
            let ds = AppsV1.DaemonSet(metadata: MetaV1.ObjectMeta(name: "agent", namespace: "default"), spec: AppsV1.DaemonSetSpec(
                selector: MetaV1.LabelSelector(matchLabels: ["app": "agent"]),
                template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "agent"]), spec: CoreV1.PodSpec(
                    containers: [CoreV1.Container(image: "agent", name: "agent", ports: [CoreV1.ContainerPort(containerPort: 9100, name: "metrics")])]))))
            _ = try await client.create(ds)
            _ = try await client.create(CoreV1.Service(metadata: MetaV1.ObjectMeta(name: "agent", namespace: "default"), spec: CoreV1.ServiceSpec(
                ports: [CoreV1.ServicePort(name: "metrics", port: 80, targetPort: .string("metrics"))], selector: ["app": "agent"])))

            let complete = try await eventually(timeout: .seconds(9)) {
                let job = try await client.get(BatchV1.Job.self, name: "batch", namespace: "default")
                return job.status?.conditions?.contains { $0.type == "Complete" && $0.status == "True" } == true
            }
            #expect(complete)
            let job = try await client.get(BatchV1.Job.self, name: "batch", namespace: "default")
            #expect(job.status?.succeeded == 4)

            let daemonsReady = try await eventually {
                let d = try await client.get(AppsV1.DaemonSet.self, name: "agent", namespace: "default")
                return d.status?.numberReady == 2 && d.status?.numberAvailable == 2 && d.status?.desiredNumberScheduled == 2
            }
            #expect(daemonsReady)
            let served = try await eventually {
                let ep = try? await client.get(CoreV1.Endpoints.self, name: "agent", namespace: "default")
                return ep?.subsets?.first?.addresses?.count == 2 && ep?.subsets?.first?.ports?.first?.port == 9100
            }
            #expect(served)
        }
    }
}
