import NIOCore
import NIOPosix

/// `count` free TCP ports on loopback (bound, read, released).
public func freePorts(_ count: Int) throws -> [Int] {
    let group = MultiThreadedEventLoopGroup.singleton
    var channels: [any Channel] = []
    for _ in 0..<count {
        channels.append(try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait())
    }
    let ports = channels.compactMap { $0.localAddress?.port }
    for channel in channels { try channel.close().wait() }
    return ports
}
