import CapstanAPI
@testable import CapstanControllers
import Testing

@Suite struct TTLAfterFinishedCoreTests {
    static func job(ttl: Int32?, finishedAt: Int64?, type: String = "Complete") -> BatchV1.Job {
        var job = TestJobs.job()
        job.spec?.ttlSecondsAfterFinished = ttl
        if let finishedAt {
            job.status = BatchV1.JobStatus(conditions: [BatchV1.JobCondition(lastTransitionTime: TestPods.time(finishedAt), status: "True", type: type)])
        }
        return job
    }

    @Test(arguments: [
        (Int32?.none, Int64?.some(10), "Complete", Int64(100), TTLAfterFinishedCore.Decision.keep),
        (30, nil, "Complete", 100, .keep),
        (30, 10, "Complete", 20, .wait(seconds: 20)),
        (30, 10, "Failed", 40, .delete),
        (0, 10, "Complete", 10, .delete),
        (30, 10, "SuccessCriteriaMet", 100, .keep),
    ] as [(Int32?, Int64?, String, Int64, TTLAfterFinishedCore.Decision)])
    func decisions(_ ttl: Int32?, _ finished: Int64?, _ type: String, _ now: Int64, _ expected: TTLAfterFinishedCore.Decision) {
        #expect(TTLAfterFinishedCore.decide(Self.job(ttl: ttl, finishedAt: finished, type: type), now: now) == expected)
    }
}
