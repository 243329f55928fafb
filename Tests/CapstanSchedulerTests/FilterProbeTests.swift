import CapstanAPI
import CapstanSchedulerFramework
import Testing

/// The filter loop learns which plugin rejects most nodes and tries it first; the verdicts, and
/// the statuses an unschedulable pod's diagnosis reports, stay those of the profile's order.
@Suite("Filter loop probing")
struct FilterProbeTests {
    /// Rejects the nodes whose name is in `rejected`, with its own reason.
    final class RejectNamed: FilterPlugin {
        let name: String
        let rejected: Set<String>
        init(_ name: String, rejecting rejected: Set<String>) {
            self.name = name
            self.rejected = rejected
        }

        func filter(state: CycleState, pod: PodInfo, node: NodeInfo) -> Status {
            rejected.contains(node.name) ? Status(.unschedulable, reason: "rejected by \(name)") : .success
        }
    }

    static let names = (0..<200).map { "n\(1000 + $0)" }

    private static func schedule(_ plugins: [any Plugin]) -> Result<ScheduleResult, ScheduleFailure> {
        let snapshot = Snapshot(nodes: names.map { NodeInfo(node: makeNode($0)) })
        var algorithm = SchedulingAlgorithm()
        var random = SystemRandomNumberGenerator()
        return algorithm.schedulePod(framework: Framework(profile: Profile(plugins: plugins)), state: CycleState(snapshot: snapshot),
                                     pod: podInfo("p"), nominator: nil, random: &random)
    }

    @Test func anUnschedulablePodReportsTheFirstRejectingPluginOfTheProfilePerNode() throws {
        // "late" rejects every node, "early" (before it in the profile) the first ten: those ten
        // report "early" although the loop, probing "late" first, needs no other plugin for them.
        let early = Set(Self.names.prefix(10))
        let result = Self.schedule([RejectNamed("early", rejecting: early), RejectNamed("late", rejecting: Set(Self.names))])
        guard case .failure(.fit(let error)) = result else {
            Issue.record("expected a FitError, got \(result)")
            return
        }
        let statuses = error.diagnosis.nodeToStatus
        #expect(statuses.count == Self.names.count)
        for name in Self.names {
            #expect(statuses.get(name).reasons == ["rejected by \(early.contains(name) ? "early" : "late")"], "\(name)")
        }
        #expect(error.diagnosis.unschedulablePlugins == ["early", "late"])
        #expect(error.description.hasPrefix("0/200 nodes are available: 10 rejected by early, 190 rejected by late."), "\(error)")
    }

    @Test func feasibleNodesAreThoseEveryFilterPasses() throws {
        // Only the last five nodes pass "late"; "early" rejects two of them.
        let passLate = Set(Self.names.suffix(5))
        let early = Set(Self.names.suffix(2))
        let result = Self.schedule([RejectNamed("early", rejecting: early),
                                    RejectNamed("late", rejecting: Set(Self.names).subtracting(passLate))])
        let scheduled = try result.get()
        #expect(passLate.subtracting(early).contains(scheduled.suggestedHost))
        #expect(scheduled.feasibleNodes == 3)
        #expect(scheduled.evaluatedNodes == Self.names.count)
    }
}
