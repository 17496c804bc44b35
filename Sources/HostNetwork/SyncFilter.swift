import CHostNetwork
import SyncWire

/// The classic BPF program ``PacketCapture`` attaches (`SO_ATTACH_FILTER`), so that its socket wakes only for what
/// the kernel master sends: an *outgoing* UDP datagram (IPv4, or IPv6 without extension headers, as the kernel sends
/// them) to the sync group with a destination port in the range. Non-first IP fragments are dropped (they carry no
/// UDP header); a first fragment passes, so that userspace can say why it cannot use it. Offsets are from the
/// network header (a `SOCK_DGRAM` packet socket).
enum SyncFilter {
    /// One instruction, with symbolic jump targets resolved by ``program(group:ports:)``.
    private enum Step {
        case load(UInt16, Int32)
        case loadHeaderLengthIntoX
        case jump(UInt16, UInt32, whenTrue: Target, whenFalse: Target)
        case ret(UInt32)
    }

    private enum Target {
        case next, accept, drop
    }

    /// Bytes of an accepted packet to keep: all of it.
    static let snapLength: UInt32 = 0x40000

    /// The program for `group` and `ports`.
    static func program(group: IPAddress, ports: ClosedRange<UInt16>) -> [sock_filter] {
        let word = UInt16(BPF_LD | BPF_W | BPF_ABS)
        let half = UInt16(BPF_LD | BPF_H | BPF_ABS)
        let byte = UInt16(BPF_LD | BPF_B | BPF_ABS)
        let equal = UInt16(BPF_JMP | BPF_JEQ | BPF_K)
        let ancillary = Int32(SKF_AD_OFF)
        var steps: [Step] = [
            .load(word, ancillary + Int32(SKF_AD_PKTTYPE)),
            .jump(equal, UInt32(PACKET_OUTGOING), whenTrue: .next, whenFalse: .drop),
            .load(word, ancillary + Int32(SKF_AD_PROTOCOL)),
        ]
        switch group {
        case .v4(let address):
            steps += [
                .jump(equal, UInt32(ETH_P_IP), whenTrue: .next, whenFalse: .drop),
                .load(byte, 9),
                .jump(equal, 17, whenTrue: .next, whenFalse: .drop),
                .load(word, 16),
                .jump(equal, address.value, whenTrue: .next, whenFalse: .drop),
                .load(half, 6),
                .jump(UInt16(BPF_JMP | BPF_JSET | BPF_K), 0x1fff, whenTrue: .drop, whenFalse: .next),
                .loadHeaderLengthIntoX,
                .load(UInt16(BPF_LD | BPF_H | BPF_IND), 2),
            ]
        case .v6(let address):
            steps += [
                .jump(equal, UInt32(ETH_P_IPV6), whenTrue: .next, whenFalse: .drop),
                .load(byte, 6),
                .jump(equal, 17, whenTrue: .next, whenFalse: .drop),
            ]
            let words = [address.high >> 32, address.high & 0xffff_ffff, address.low >> 32, address.low & 0xffff_ffff]
            for (i, value) in words.enumerated() {
                steps += [
                    .load(word, 24 + 4 * Int32(i)),
                    .jump(equal, UInt32(value), whenTrue: .next, whenFalse: .drop),
                ]
            }
            steps.append(.load(half, 40 + 2))
        }
        steps += [
            .jump(UInt16(BPF_JMP | BPF_JGE | BPF_K), UInt32(ports.lowerBound), whenTrue: .next, whenFalse: .drop),
            .jump(UInt16(BPF_JMP | BPF_JGT | BPF_K), UInt32(ports.upperBound), whenTrue: .drop, whenFalse: .accept),
        ]
        let accept = steps.count
        let drop = accept + 1
        steps += [.ret(snapLength), .ret(0)]

        return steps.enumerated().map { index, step in
            func offset(_ target: Target) -> UInt8 {
                switch target {
                case .next: 0
                case .accept: UInt8(accept - index - 1)
                case .drop: UInt8(drop - index - 1)
                }
            }
            switch step {
            case .load(let code, let k):
                return sock_filter(code: code, jt: 0, jf: 0, k: UInt32(bitPattern: k))
            case .loadHeaderLengthIntoX:
                return sock_filter(code: UInt16(BPF_LDX | BPF_B | BPF_MSH), jt: 0, jf: 0, k: 0)
            case .jump(let code, let k, let whenTrue, let whenFalse):
                return sock_filter(code: code, jt: offset(whenTrue), jf: offset(whenFalse), k: k)
            case .ret(let k):
                return sock_filter(code: UInt16(BPF_RET | BPF_K), jt: 0, jf: 0, k: k)
            }
        }
    }
}
