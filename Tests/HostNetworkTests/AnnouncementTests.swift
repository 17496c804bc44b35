import SyncWire
import Testing

@testable import HostNetwork

@Suite("Announcements")
struct AnnouncementTests {
    static let mac = MACAddress(bytes: [0x02, 0x11, 0x22, 0x33, 0x44, 0x55])

    @Test("the gratuitous ARP frame: broadcast, ARP request, sender = target = the VIP, padded to 60 bytes")
    func gratuitousARP() {
        let frame = AnnouncementPackets.gratuitousARP(IPv4Address(10, 0, 0, 100), from: Self.mac)
        let vip: [UInt8] = [10, 0, 0, 100]
        let expected: [UInt8] =
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + Self.mac.bytes + [0x08, 0x06]  // Ethernet
            + [0, 1, 0x08, 0x00, 6, 4, 0, 1]  // Ethernet/IPv4, request
            + Self.mac.bytes + vip + [0, 0, 0, 0, 0, 0] + vip
            + [UInt8](repeating: 0, count: 18)
        #expect(frame == expected)
        #expect(frame.count == 60)
    }

    @Test("the Neighbour Advertisement: type 136, Override only, the target, a TLLA option with the MAC")
    func neighbourAdvertisement() {
        let target = IPv6Address("fd00::100")!
        let message = AnnouncementPackets.unsolicitedNeighbourAdvertisement(target, from: Self.mac)
        let expected: [UInt8] =
            [136, 0, 0, 0, 0x20, 0, 0, 0]
            + [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]
            + [2, 1] + Self.mac.bytes
        #expect(message == expected)
    }

    @Test("the recorder records calls and answers with one announcement per address and round")
    func recorder() async throws {
        let recorder = RecordingAnnouncer(hardwareAddress: Self.mac)
        let addresses = [
            VirtualAddress(interface: "eth0", "10.0.0.100")!, VirtualAddress(interface: "eth0", "fd00::100")!,
        ]
        let sent = try await recorder.announce(addresses, count: 3, interval: .seconds(60))
        #expect(sent.count == 6)
        #expect(
            sent.map(\.kind)
                == Array(repeating: [.gratuitousARP, .unsolicitedNeighbourAdvertisement], count: 3).flatMap { $0 }
        )
        #expect(sent.allSatisfy { $0.hardwareAddress == Self.mac })
        #expect(recorder.calls == [RecordingAnnouncer.Call(addresses: addresses, count: 3, interval: .seconds(60))])
        #expect(sent[0].description == "eth0 10.0.0.100 is at 02:11:22:33:44:55 (gratuitous ARP)")

        let failure = HostNetworkError(operation: "announce 10.0.0.100 on eth0", errno: 19)
        recorder.failEveryCall(with: failure)
        #expect(throws: failure) { try recorder.announceOnce(addresses) }
        #expect(recorder.calls.count == 2)
    }

    /// Counts rounds; fails in the round named.
    final class CountingAnnouncer: NeighbourAnnouncing, @unchecked Sendable {
        var rounds = 0
        let failInRound: Int?
        init(failInRound: Int? = nil) { self.failInRound = failInRound }
        func announceOnce(_ addresses: [VirtualAddress]) throws(HostNetworkError) -> [Announcement] {
            rounds += 1
            if rounds == failInRound { throw HostNetworkError(operation: "round \(rounds)") }
            return addresses.map { Announcement(address: $0, hardwareAddress: mac, kind: .gratuitousARP) }
        }
    }

    @Test("announce repeats announceOnce count times and stops at the first failing round")
    func rounds() async throws {
        let addresses = [VirtualAddress(interface: "eth0", "10.0.0.100")!]
        let counting = CountingAnnouncer()
        let sent = try await counting.announce(addresses, count: 4, interval: .zero)
        #expect(counting.rounds == 4)
        #expect(sent.count == 4)

        let failing = CountingAnnouncer(failInRound: 2)
        await #expect(throws: HostNetworkError(operation: "round 2")) {
            try await failing.announce(addresses, count: 4, interval: .zero)
        }
        #expect(failing.rounds == 2)
    }
}
