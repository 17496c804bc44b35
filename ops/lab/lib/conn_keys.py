#!/usr/bin/env python3
"""Check a kernel's `/proc/net/ip_vs_conn` table for the connections a scenario made, by key (protocol, client,
virtual service).

    conn_keys.py TABLE --generated N              gen_sync.py's first N connections (10.64.0.0/16 to 10.0.0.100:80)
    conn_keys.py TABLE --ports FILE --client IP   the TCP connections from IP to 10.0.0.100:80 whose client ports
                                                  FILE lists (one a line: churn.py's)

Prints one JSON line: how many keys are expected, how many of the table's entries have the expected keys' clients,
how many expected keys the table lacks, and the first few of those. The table is the kernel's own, read back with
`ip netns exec NS cat /proc/net/ip_vs_conn`; the expected keys are what the scenario made through the active
director, so one table read (the standby's) does: every read of a table of 10^5 entries costs the emulated guest
minutes (each read(2) walks the kernel's table from its start).
"""
import argparse
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_sync import client  # noqa: E402  (the generator's own numbering of connections)

VIRTUAL = ("0A000064", "0050")  # 10.0.0.100:80


def key(address, port):
    return ("TCP", "%08X" % address, "%04X" % port) + VIRTUAL


def table_keys(path):
    out = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 9 or fields[0] == "Pro":
                continue
            out.add(tuple(fields[0:5]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("table")
    parser.add_argument("--generated", type=int)
    parser.add_argument("--ports")
    parser.add_argument("--client")
    args = parser.parse_args()
    if args.generated is not None:
        expected = {key(*client(i)) for i in range(args.generated)}
        clients = {"%08X" % client(i)[0] for i in range(0, args.generated, 50000)}
        clients.add("%08X" % client(args.generated - 1)[0])
    elif args.ports and args.client:
        address = int(ipaddress.IPv4Address(args.client))
        with open(args.ports) as f:
            expected = {key(address, int(p)) for p in f.read().split()}
        clients = {"%08X" % address}
    else:
        parser.error("give --generated N, or --ports FILE with --client IP")
    held = table_keys(args.table)
    missing = sorted(expected - held)
    of_clients = sum(1 for k in held if k[1] in clients)
    print(json.dumps({
        "expected": len(expected),
        "table": of_clients,
        "missing": len(missing),
        "first_missing": [" ".join(k) for k in missing[:5]],
    }))


if __name__ == "__main__":
    main()
