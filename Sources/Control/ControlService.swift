import ServiceLifecycle

/// A ``ControlServer`` as a swift-service-lifecycle service: it serves until the service group shuts down
/// gracefully, then removes the socket file.
public struct ControlService: Service {
    private let server: ControlServer

    /// Runs `server` (bind it first, so that a second daemon stops before anything else starts).
    public init(server: ControlServer) {
        self.server = server
    }

    /// Serves until a graceful shutdown or cancellation.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run()
            }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            // A graceful shutdown cancels the server: that is the service's normal end.
        }
    }
}
