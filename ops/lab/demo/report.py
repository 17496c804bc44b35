"""Readable summaries for the demo (Debian python3, stdlib only; run in the guest).

  report.py table DECODE_TABLE     `lvsync decode` table: the header and the latest
                                   entry per connection (later updates replace
                                   earlier ones, first-seen order kept)
  report.py stats DECODE_JSONL     `lvsync decode --json`: entries and connections
                                   per service, forwarding method, templates, SIP
  report.py backup IP_VS_CONN_SYNC IP_VS_CONN
                                   a backup's tables: entries by origin and kind,
                                   the SIP templates' pe_data
  report.py stats-line DECODE_JSONL one line: "<connections> <templates> <entries>"
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import compare  # noqa: E402  (the lab's /proc reader)

FWD = {0: "NAT", 1: "local", 2: "tunnel", 3: "DR", 4: "bypass"}


def table(path):
    lines = open(path).read().splitlines()
    if not lines:
        return
    print("  " + lines[0])
    rows = {}
    for ln in lines[1:]:
        f = ln.split()
        if len(f) < 8:
            continue
        # MSG VER SYNCID PROTO CLIENT VIRTUAL DESTINATION STATE ... PE: key on the
        # connection (and a SIP template's Call-ID), not on the message
        key = (f[3], f[4], f[5], f[6], " ".join(f[13:]))
        rows[key] = ln   # a dict keeps the first-seen position
    for ln in rows.values():
        print("  " + ln)


def entries(path):
    out = []
    for line in open(path):
        if line.strip():
            j = json.loads(line)
            if "error" not in j:
                out.append(j)
    return out


def service(j):
    if j.get("fwmark"):
        return "fwmark %d" % j["fwmark"]
    return "%s %s" % (j["protocol"], j["virtual"])


def stats(path):
    es = entries(path)
    conns, tmpl, seen, fwd, pe = (collections.defaultdict(set) for _ in range(5))
    for j in es:
        s = service(j)
        key = (j["protocol"], j["client"], j["virtual"], j["destination"], j.get("pe_data"))
        (tmpl if j["template"] else conns)[s].add(key)
        seen[s].add(id(j))
        fwd[s].add(FWD.get(j["flags"] & 7, "?"))
        if j.get("pe_data"):
            pe[s].add("%s %s" % (j.get("pe_name"), j["pe_data"]))
    order = list(seen)   # first seen: the order of the traffic
    width = max(len(s) for s in order)
    print("  %-*s  %-6s  %5s  %9s  %7s" % (width, "service", "fwd", "conns", "templates", "entries"))
    for s in order:
        print("  %-*s  %-6s  %5d  %9d  %7d" % (
            width, s, "/".join(sorted(fwd[s])), len(conns[s]), len(tmpl[s]), len(seen[s])))
    for s in order:
        for p in sorted(pe[s]):
            print("  %s template pe_data: %s" % (s, p))
    nc = sum(len(v) for v in conns.values())
    nt = sum(len(v) for v in tmpl.values())
    print("  total: %d entries = %d connections + %d persistence templates (the rest are updates)"
          % (len(es), nc, nt))


def stats_line(path):
    es = entries(path)
    keys = {(j["protocol"], j["client"], j["virtual"], j["destination"], j.get("pe_data"), j["template"])
            for j in es}
    print(sum(1 for k in keys if not k[5]), sum(1 for k in keys if k[5]), len(es))


def backup(sync_path, proc_path):
    es = compare.read_proc(sync_path)
    origin = collections.Counter(e.origin for e in es)
    print("  %d entries: %s" % (len(es), ", ".join("%d Origin %s" % (n, o) for o, n in sorted(origin.items()))))
    print("  by kind: %s" % compare.summary(es))
    for e in compare.read_proc(proc_path):
        if e.pe_data:
            print("  SIP template %s -> %s -> %s  %s %s" % (e.client, e.virtual, e.dest, e.pe_name, e.pe_data))


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 3 and a[1] == "table":
        table(a[2])
    elif len(a) == 3 and a[1] == "stats":
        stats(a[2])
    elif len(a) == 3 and a[1] == "stats-line":
        stats_line(a[2])
    elif len(a) == 4 and a[1] == "backup":
        backup(a[2], a[3])
    else:
        sys.exit(__doc__)
