#!/usr/bin/env python3
"""Send UDP datagrams that each open a new IPVS connection, at a given rate, for the sync rate benchmark.

    udp_new.py VIP PORT RATE SECONDS [--first-port P]

RATE datagrams a second for SECONDS from this namespace's own address, each from a source port of its own
(P, P+1, ...: at most 64 000 in a run), so that the director's IPVS makes one UDP connection per datagram (and,
with sync_threshold "1 2", its kernel master sends each at its first packet). Datagrams are prepared first and
sent in bursts every 10 ms through one raw socket (IP_HDRINCL): one Python process in an emulated guest reaches a
few thousand a second. Prints one JSON line: sent, failed (sendto refused), seconds, the rate reached.
"""
import json
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def datagram(src, dst, sport, dport, payload=b"n"):
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    udp = struct.pack("!HHHH", sport, dport, udp_len, checksum(pseudo + udp)) + payload
    total = 20 + udp_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, sport, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


def main():
    args = sys.argv[1:]
    first = 1024
    if "--first-port" in args:
        i = args.index("--first-port")
        first = int(args[i + 1])
        del args[i : i + 2]
    vip, port, rate, seconds = args[0], int(args[1]), float(args[2]), float(args[3])
    count = min(int(rate * seconds), 65535 - first)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.connect((vip, port))
    src = socket.inet_aton(probe.getsockname()[0])
    probe.close()
    dst = socket.inet_aton(vip)
    packets = [datagram(src, dst, first + k, port) for k in range(count)]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    start = time.monotonic()
    done = failed = 0
    while done < count:
        due = min(count, int((time.monotonic() - start) * rate) + 1)
        while done < due:
            try:
                raw.sendto(packets[done], (vip, 0))
            except OSError:
                failed += 1
            done += 1
        time.sleep(0.01)
    took = time.monotonic() - start
    sent = done - failed
    print(json.dumps({"sent": sent, "failed": failed, "seconds": round(took, 3), "rate": round(sent / took, 1)}))


if __name__ == "__main__":
    main()
