"""Announce addresses that just moved to this host (run in the new owner's namespace).

usage: announce.py IFACE ADDR...   (root; Debian python3, stdlib only)

For each IPv4 address a gratuitous ARP request (sender = target = ADDR, to the
broadcast), for each IPv6 address an unsolicited Neighbor Advertisement (to
ff02::1, flags Router and Override, target link-layer address option), each
sent twice 0.2 s apart: neighbours that already cache ADDR switch to this
host's MAC, as keepalived does after a VRRP takeover. Prints one line per address.
"""
import ipaddress
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806


def mac_of(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def garp(iface, mac, ip):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    s.bind((iface, ETH_P_ARP))
    a = ip.packed
    # htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request); target MAC zero
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + a + b"\0" * 6 + a
    frame = b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP) + arp
    s.send(frame + b"\0" * (60 - len(frame)))
    s.close()


def unsolicited_na(iface, mac, ip):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)   # RFC 4861: 255
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(iface))
    # type 136, code 0, checksum (the kernel fills it in), R|O, target, option 2 (TLLA)
    na = struct.pack("!BBHI", 136, 0, 0, 0xA0000000) + ip.packed + struct.pack("!BB", 2, 1) + mac
    s.sendto(na, ("ff02::1", 0, 0, socket.if_nametoindex(iface)))
    s.close()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    iface, mac = sys.argv[1], mac_of(sys.argv[1])
    addrs = [ipaddress.ip_address(a) for a in sys.argv[2:]]
    for rnd in range(2):
        if rnd:
            time.sleep(0.2)
        for ip in addrs:
            (garp if ip.version == 4 else unsolicited_na)(iface, mac, ip)
    for ip in addrs:
        what = "gratuitous ARP" if ip.version == 4 else "unsolicited NA"
        print("%s %s is at %s (%s, sent twice)" % (iface, ip, mac.hex(":"), what), flush=True)


if __name__ == "__main__":
    main()
