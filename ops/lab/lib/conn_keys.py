#!/usr/bin/env python3
"""Compare two `/proc/net/ip_vs_conn` tables by connection key (protocol, client, virtual).

    conn_keys.py A.txt B.txt [--client-prefix HEX]... [--state NAME]

Prints one JSON line: how many keys A and B hold (only clients whose hex address starts with one of the prefixes,
when given; only entries in state NAME, when given), how many of A's B lacks, and the first few of those. The tables are the kernel's own, read back with
`ip netns exec NS cat /proc/net/ip_vs_conn`.
"""
import argparse
import json


def keys(path, prefixes, state):
    out = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 9 or fields[0] == "Pro":
                continue
            if prefixes and not any(fields[1].startswith(p) for p in prefixes):
                continue
            if state and fields[7] != state:
                continue
            out.add((fields[0], fields[1], fields[2], fields[3], fields[4]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--client-prefix", action="append", default=[])
    parser.add_argument("--state")
    args = parser.parse_args()
    a = keys(args.a, args.client_prefix, args.state)
    b = keys(args.b, args.client_prefix, None)
    missing = sorted(a - b)
    print(json.dumps({"a": len(a), "b": len(b), "missing": len(missing), "first_missing": [" ".join(k) for k in missing[:5]]}))


if __name__ == "__main__":
    main()
