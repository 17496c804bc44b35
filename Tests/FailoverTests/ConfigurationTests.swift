import Failover
import Testing

@Suite("Election configuration: values out of range are refused with their key")
struct ConfigurationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var key: String
        var make: @Sendable () throws(FailoverError) -> ElectionConfiguration
        var testDescription: String { key }
    }

    static let cases: [Case] = [
        Case(key: "node") { () throws(FailoverError) in try ElectionConfiguration(node: "", priority: 100) },
        Case(key: "priority") { () throws(FailoverError) in try ElectionConfiguration(node: "a", priority: 0) },
        Case(key: "priority") { () throws(FailoverError) in try ElectionConfiguration(node: "a", priority: 256) },
        Case(key: "preempt_delay") { () throws(FailoverError) in
            try ElectionConfiguration(node: "a", priority: 1, preemptDelay: .milliseconds(-1))
        },
        Case(key: "heartbeat_interval") { () throws(FailoverError) in
            try ElectionConfiguration(node: "a", priority: 1, heartbeatInterval: .zero)
        },
        Case(key: "dead_interval") { () throws(FailoverError) in
            try ElectionConfiguration(
                node: "a",
                priority: 1,
                heartbeatInterval: .milliseconds(100),
                deadInterval: .milliseconds(100)
            )
        },
        Case(key: "boot_wait") { () throws(FailoverError) in
            try ElectionConfiguration(node: "a", priority: 1, bootWait: .milliseconds(99))
        },
        Case(key: "health.ipvs") { () throws(FailoverError) in
            try ElectionConfiguration(node: "a", priority: 1, healthConditions: [.ipvs: .lowerPriority(by: 0)])
        },
        Case(key: "health.ipvs") { () throws(FailoverError) in
            try ElectionConfiguration(node: "a", priority: 1, healthConditions: [.ipvs: .lowerPriority(by: 255)])
        },
    ]

    @Test("refused, naming the key", arguments: cases)
    func refused(_ example: Case) {
        do {
            _ = try example.make()
            Issue.record("accepted")
        } catch {
            guard case .invalidConfiguration(let key, _) = error.reason else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(key == example.key)
            #expect(error.description.hasPrefix("election.\(example.key): "))
        }
    }

    @Test("the edges of each range are accepted")
    func edges() throws {
        _ = try ElectionConfiguration(node: "a", priority: 1)
        _ = try ElectionConfiguration(node: "a", priority: 255, healthConditions: [.ipvs: .lowerPriority(by: 254)])
        _ = try ElectionConfiguration(
            node: "a",
            priority: 1,
            heartbeatInterval: .milliseconds(100),
            deadInterval: .milliseconds(101),
            bootWait: .milliseconds(100)
        )
    }
}
