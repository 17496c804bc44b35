"""Print the sync messages of a pcap, one per line, as lowercase hex of the UDP
payload (datagrams to PORT, default 8848, over IPv4 or IPv6).

usage: pcap2hex.py FILE.pcap [PORT]
Link types: Ethernet (1, tcpdump -i eth0 / a dummy), raw IP (101), Linux
cooked (113, tcpdump -i any). Stdlib only: runs on Debian's python3 in the guest.
"""
import struct
import sys


def payloads(path, port=8848):
    data = open(path, "rb").read()
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
              b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if endian is None:
        raise SystemExit("%s: not a pcap file" % path)
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    link_len = {1: 14, 101: 0, 113: 16}.get(linktype)
    if link_len is None:
        raise SystemExit("%s: unsupported link type %d" % (path, linktype))
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = pkt[link_len:]
        if linktype == 1 and pkt[12:14] == b"\x81\x00":   # one VLAN tag
            ip = pkt[18:]
        if not ip:
            continue
        if ip[0] >> 4 == 4 and ip[9] == 17:
            udp = ip[(ip[0] & 15) * 4:]
        elif ip[0] >> 4 == 6 and ip[6] == 17:
            udp = ip[40:]
        else:
            continue
        if len(udp) >= 8 and struct.unpack(">H", udp[2:4])[0] == port:
            ulen = struct.unpack(">H", udp[4:6])[0]
            yield udp[8:ulen]


if __name__ == "__main__":
    for p in payloads(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8848):
        print(p.hex())
