#!/usr/bin/env python3
"""Generate kernel sync messages (version 1) as hex lines, for `lvsync replay --hex` and `lvsync decode --hex`.

    gen_sync.py COUNT [--first N] [--timeout S] [--state N] [--syncid ID] > FILE

COUNT TCP connections to 10.0.0.100:80, direct routing (flags DROUTE|NOOUTPUT = 0x83) to 10.0.0.21 and 10.0.0.22
alternately, 40 to a message (8 + 40 x 36 = 1 448 bytes: what the kernel master itself sends). Connection i
(counting from --first) comes from 10.64.0.0 + i // 50 000, port 1 024 + i % 50 000: every key distinct, none the lab
client's. State 1 (ESTABLISHED) and the timeout in seconds are what the kernel backup gives each connection; the
same COUNT and --first with a --timeout of 1 expire connections made before (the backup re-arms their timer).
The format: research/kernel-ipvs.md §3.1-3.2.
"""
import argparse
import struct
import sys

PER_MESSAGE = 40


def client(i):
    base = (10 << 24) | (64 << 16)
    return base + i // 50000, 1024 + i % 50000


def entry(i, timeout, state):
    caddr, cport = client(i)
    vaddr = (10 << 24) | 100
    daddr = (10 << 24) | (21 if i % 2 == 0 else 22)
    return struct.pack(
        ">BBHIHHHHIIIII",
        0,  # type: IPv4
        6,  # TCP
        36,  # entry version 0, size 36
        0x83,  # DROUTE | NOOUTPUT
        state,
        cport,
        80,
        80,
        0,  # fwmark
        timeout,
        caddr,
        vaddr,
        daddr,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--state", type=int, default=1)
    parser.add_argument("--syncid", type=int, default=7)
    a = parser.parse_args()
    out = sys.stdout
    for start in range(a.first, a.first + a.count, PER_MESSAGE):
        entries = [entry(i, a.timeout, a.state) for i in range(start, min(start + PER_MESSAGE, a.first + a.count))]
        body = b"".join(entries)
        header = struct.pack(">BBHBBH", 0, a.syncid, 8 + len(body), len(entries), 1, 0)
        out.write((header + body).hex() + "\n")


if __name__ == "__main__":
    main()
