import HostNetwork
import SyncWire
import Testing

@Suite("BackupSocketQueue: the kernel backup socket's line in /proc/net/udp")
struct BackupSocketQueueTests {
    // From a namespace running `ipvsadm --start-daemon backup --mcast-interface lvsync0`: the backup socket bound to
    // 224.0.0.81:8848 with 4 608 bytes queued and 17 drops, and an unrelated socket.
    static let udp = """
           sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
          101: 00000000:E1F2 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 53211 2 0000000000000000 0
          245: 510000E0:2290 00000000:0000 07 00000000:00001200 00:00000000 00000000     0        0 53100 2 0000000000000000 17
        """

    @Test("the socket bound to the group and port: queued bytes, drops, inode")
    func parses() {
        let queue = BackupSocketQueue.parse(Self.udp, local: Endpoint(.v4(IPv4Address(224, 0, 0, 81)), 8848))
        #expect(queue == BackupSocketQueue(queued: 0x1200, drops: 17, inode: 53_100))
    }

    @Test("no socket on that port or group: nil")
    func absent() {
        #expect(BackupSocketQueue.parse(Self.udp, local: Endpoint(.v4(IPv4Address(224, 0, 0, 81)), 8849)) == nil)
        #expect(BackupSocketQueue.parse(Self.udp, local: Endpoint(.v4(IPv4Address(224, 0, 0, 82)), 8848)) == nil)
        #expect(
            BackupSocketQueue.parse("garbage\n 1: x", local: Endpoint(.v4(IPv4Address(224, 0, 0, 81)), 8848)) == nil
        )
    }

    @Test("an IPv6 group as /proc/net/udp6 prints it")
    func ipv6() {
        // ff02::81 in memory: ff 02 00 .. 00 81, printed word by word as native (little-endian) integers.
        let text = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
               3: 000002FF000000000000000081000000:2290 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 999 2 0000000000000000 5
            """
        let group = IPAddress("ff02::81")!
        #expect(BackupSocketQueue.parse(text, local: Endpoint(group, 8848))?.drops == 5)
    }
}
