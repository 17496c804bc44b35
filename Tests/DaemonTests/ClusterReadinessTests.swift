import Daemon
import Testing

@Suite("When a cluster member announces its VIPs (the readiness rule, time passed in)")
struct ClusterReadinessTests {
    typealias Member = ClusterReadiness.Member

    @Test("a linked member's stream is waited for, however long")
    func linkedIsWaitedFor() {
        let members = [Member(name: "b", linked: true, inSync: false), Member(name: "c", linked: true, inSync: true)]
        #expect(ClusterReadiness.waitingFor(members, sinceStart: .seconds(3600), wait: .seconds(10)) == ["b"])
    }

    @Test("an unreachable member holds the announcement back only until the wait is over")
    func unreachableUntilTheWait() {
        let members = [
            Member(name: "c", linked: false, inSync: false), Member(name: "b", linked: false, inSync: false),
        ]
        #expect(ClusterReadiness.waitingFor(members, sinceStart: .seconds(9), wait: .seconds(10)) == ["b", "c"])
        #expect(ClusterReadiness.waitingFor(members, sinceStart: .seconds(10), wait: .seconds(10)).isEmpty)
    }

    @Test("every stream in the kernel: announce at once; no members: announce at once")
    func allInSync() {
        let members = [Member(name: "b", linked: true, inSync: true), Member(name: "c", linked: false, inSync: true)]
        #expect(ClusterReadiness.waitingFor(members, sinceStart: .zero, wait: .seconds(10)).isEmpty)
        #expect(ClusterReadiness.waitingFor([], sinceStart: .zero, wait: .seconds(10)).isEmpty)
    }
}
