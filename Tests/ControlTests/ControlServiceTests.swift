import Control
import ServiceLifecycle
import Testing

@Suite("The control socket as a service")
struct ControlServiceTests {
    @Test("it serves until the group shuts down gracefully, tells a follower the daemon stops, removes the socket")
    func gracefulShutdown() async throws {
        let path = try temporaryDirectory() + "/lvsync.sock"
        let server = try await ControlServer.bind(
            path: path,
            responder: FakeResponder { _, writer in
                try await writer.write(["first": true])
                // A follow waiting for its next interval: only the shutdown ends it.
                try await Task.sleep(for: .seconds(86_400))
            },
            logger: testLogger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [ControlService(server: server)], logger: testLogger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await ControlClient.withReply(to: ControlRequest(command: "stats"), socketPath: path) { reply in
                var objects = reply.makeAsyncIterator()
                let first = try await objects.next()
                #expect(first == ["first": true])
                await group.triggerGracefulShutdown()
                do {
                    let next = try await objects.next()
                    Issue.record("the reply went on after the shutdown: \(String(describing: next))")
                } catch {
                    #expect(error as? ControlError == ControlError(.daemon, "the daemon is stopping"))
                }
            }
            try await tasks.waitForAll()
        }
        #expect(mode(of: path) == nil)
    }
}
