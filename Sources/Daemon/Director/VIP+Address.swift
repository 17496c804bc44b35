import Config
import HostNetwork

extension FailoverConfig.VIP {
    /// The VIP as an address on its interface, as the host's address table holds it.
    public var virtualAddress: VirtualAddress {
        VirtualAddress(interface: interface, address: address, prefixLength: UInt8(prefixLength))
    }
}
