import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The control socket's file: its directory made, a stale socket removed, its mode restricted to root, and its
/// removal when the server stops (only if it is still the one this server bound).
enum ControlSocketFile {
    /// A file's identity: its device and inode.
    struct Identity: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    /// Makes the path ready for a bind: creates the parent directory (0755) if missing; removes a stale socket.
    /// - Throws: ``ControlError`` when another daemon answers there, or the path holds something else.
    static func prepare(_ path: String) async throws(ControlError) {
        guard path.hasPrefix("/") else {
            throw ControlError(.unusablePath, "the control socket path must be absolute, found \"\(path)\"")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: parent) {
            do {
                try FileManager.default.createDirectory(
                    atPath: parent,
                    withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o755]
                )
            } catch {
                throw ControlError(
                    .unusablePath,
                    "cannot create the control socket's directory \(parent): \(error.localizedDescription)"
                )
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { return }
            throw ControlError(.unusablePath, "cannot inspect the control socket path \(path): \(describe(code))")
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlError(
                .unusablePath,
                "\(path) exists and is not a socket: remove it or configure another control socket path"
            )
        }
        if try await answers(path) { throw .anotherDaemon(at: path) }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw ControlError(.unusablePath, "cannot remove the stale control socket \(path): \(describe(errno))")
        }
    }

    /// Whether a server accepts connections at `path`.
    private static func answers(_ path: String) async throws(ControlError) -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(unixDomainSocketPath: path)
                .get()
            try? await channel.close()
            return true
        } catch let error as IOError where error.errnoCode == ECONNREFUSED || error.errnoCode == ENOENT {
            return false
        } catch let error as IOError where error.errnoCode == EACCES || error.errnoCode == EPERM {
            throw .permissionDenied(at: path)
        } catch {
            throw ControlError(.unusablePath, "cannot tell whether a daemon answers at \(path): \(error)")
        }
    }

    /// Restricts the socket to its owner (root): mode 0600.
    static func restrict(_ path: String) throws(ControlError) {
        guard chmod(path, 0o600) == 0 else {
            throw ControlError(.unusablePath, "cannot make the control socket \(path) mode 0600: \(describe(errno))")
        }
    }

    /// The identity of the file at `path`, if there is one.
    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Removes the socket file if it is still the one with `identity` (a newer daemon's is left alone).
    static func remove(_ path: String, identity: Identity?) {
        guard let identity, self.identity(of: path) == identity else { return }
        unlink(path)
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
