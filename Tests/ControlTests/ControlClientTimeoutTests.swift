import Control
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A wedged daemon's socket still accepts connections (the kernel's backlog does), and then nothing answers: the
/// client must give up with a sentence, not hang until the daemon dies.
@Suite("The control client gives up on a daemon that does not answer")
struct ControlClientTimeoutTests {
    /// A Unix socket that listens and never accepts: the kernel completes connections into its backlog.
    final class WedgedSocket {
        let path: String
        let fd: Int32

        init() throws {
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "wedged-\(UUID().uuidString.prefix(8)).sock"
                ).path
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            try #require(bound == 0 && listen(fd, 16) == 0)
        }

        deinit {
            close(fd)
            unlink(path)
        }
    }

    @Test("no reply line within the silence limit: a timeout error that names the socket")
    func wedgedDaemon() async throws {
        let socket = try WedgedSocket()
        await #expect {
            _ = try await ControlClient.objects(
                of: ControlRequest(command: "status"),
                socketPath: socket.path,
                silenceLimit: .milliseconds(300)
            )
        } throws: { error in
            guard let error = error as? ControlError else { return false }
            return error.kind == .timeout && error.message.contains(socket.path)
                && error.message.contains("did not answer within")
        }
    }
}
