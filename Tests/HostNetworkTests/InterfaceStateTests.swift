import HostNetwork
import Testing

@Suite("Interface state")
struct InterfaceStateTests {
    @Test("the status's properties")
    func properties() {
        #expect(!InterfaceStatus.missing.exists)
        #expect(InterfaceStatus.down.exists && !InterfaceStatus.down.isUp)
        #expect(InterfaceStatus.noCarrier.isUp && !InterfaceStatus.noCarrier.isRunning)
        #expect(InterfaceStatus.running.isUp && InterfaceStatus.running.isRunning)
        #expect(
            [InterfaceStatus.missing, .down, .noCarrier, .running].map(\.description)
                == ["missing", "down", "up no-carrier", "up running"]
        )
    }

    /// Reads only (no privilege needed): loopback is up with a carrier in any network namespace.
    @Test("the kernel: lo is up running, an absent name is missing, a bad name is an error")
    func kernel() throws {
        #expect(try InterfaceState.query(name: "lo") == .running)
        #expect(try InterfaceState.query(name: "lvsyncnone9") == .missing)
        #expect(throws: HostNetworkError.self) { try InterfaceState.query(name: "no/such") }
    }
}
