import Foundation
import SyncWire
import Testing

@testable import IPVS

#if canImport(Glibc)
    import Glibc
#endif

/// The kind of the IPVSError `body` throws, nil if it throws none (or another error).
func kind(_ body: () throws -> Void) -> IPVSError.Kind? {
    do {
        try body()
        return nil
    } catch {
        return (error as? IPVSError)?.kind
    }
}

/// Whether this process may change a real kernel's IPVS: only inside the lab guest, where ops/lab/scenarios/ipvs.sh
/// sets `LVSYNC_KERNEL_TESTS=1` (a throw-away VM with IPVS). Everywhere else these tests are skipped.
enum KernelLab {
    static let enabled = ProcessInfo.processInfo.environment["LVSYNC_KERNEL_TESTS"] == "1"
}

/// The netlink implementation against the real kernel (only in the lab guest).
@Suite("IPVS against the real kernel", .serialized, .enabled(if: KernelLab.enabled))
struct KernelIPVSTests {
    let ipvs: NetlinkIPVS

    init() throws {
        ipvs = try NetlinkIPVS()
        try IPVSBehavior.reset(ipvs)
    }

    @Test("info and timeouts")
    func infoAndTimeouts() throws {
        let info = try ipvs.info()
        #expect(info.version == "1.2.1")
        #expect(info.connectionTableSize > 0)
        try IPVSBehavior.timeouts(ipvs)
    }

    @Test("every kind of service and real server is created and read back as written")
    func servicesAndRealServers() throws { try IPVSBehavior.servicesAndRealServers(ipvs) }

    @Test("every error the kernel gives is the sentence for it")
    func errors() throws { try IPVSBehavior.errors(ipvs) }

    @Test("sync daemons start, read back with the kernel's defaults, refuse twins, and stop")
    func syncDaemons() throws { try IPVSBehavior.syncDaemons(ipvs) }

    @Test("a named network namespace has its own IPVS")
    func namespaces() throws {
        let name = "lvsync-test-\(getpid())"
        try run("/bin/ip", "netns", "add", name)
        defer { try? run("/bin/ip", "netns", "del", name) }
        let other = try NetlinkIPVS(namespace: name)
        let service = VirtualService(key: .firewallMark(42, .inet), scheduler: "rr")
        try other.addService(service)
        #expect(try other.services().map(\.service) == [service])
        #expect(try ipvs.services().isEmpty)
        try other.flush()
    }

    private func run(_ command: String, _ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(command) \(arguments)")
    }
}
