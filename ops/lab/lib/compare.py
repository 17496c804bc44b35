"""Compare IPVS connection tables for the lab checks (Debian python3, stdlib only).

Each check prints exactly one line, "PASS <name>" or "FAIL <name>: <reason>",
plus indented info lines; the exit status is 0 for PASS, 1 for FAIL.

  compare.py backup  NAME VERSION MASTER_PROC BACKUP_PROCSYNC
      every syncable entry of the master's /proc/net/ip_vs_conn is in the
      backup's /proc/net/ip_vs_conn_sync with Origin SYNC and the same state
      (and nothing else is)
  compare.py pedata  NAME MASTER_PROC BACKUP_PROC
      the backup's templates carry the master's pe_name/pe_data (SIP Call-IDs)
  compare.py decoded NAME VERSION MASTER_PROC DECODE_JSONL
      `lvsync decode --json` entries (latest per connection) equal, as a set,
      the master's syncable /proc entries; template/timeout/fwmark/af fields
      are what the kernel sends (v0: timeout and fwmark null, no IPv6).

What the kernel syncs (ip_vs_sync.c, kernel 6.1), and so what is "syncable":
TCP only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT, TIME_WAIT; SCTP only in
ESTABLISHED, SHUTDOWN_SENT/RECEIVED/ACK_SENT, CLOSED; templates and UDP always.
sync_version 0 carries no IPv6 entry and no pe_data. In v0 a backup keeps one
template per (protocol, client, virtual): without pe_data the SIP templates of
one client are the same template to it.
"""
import collections
import ipaddress
import json
import sys

TCP_SYNCED = {"ESTABLISHED", "FIN_WAIT", "CLOSE", "CLOSE_WAIT", "TIME_WAIT"}
SCTP_SYNCED = {"ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECEIVED", "SHUTDOWN_ACK_SENT", "CLOSED"}

Entry = collections.namedtuple(
    "Entry", "proto client virtual dest state pe_name pe_data origin")


def endpoint(addr, port):
    """ip_vs_conn prints IPv4 as 8 hex digits, IPv6 as 8 full groups; ports in hex."""
    p = int(port, 16) if isinstance(port, str) else port
    if ":" in addr:
        return "[%s]:%d" % (ipaddress.IPv6Address(addr).compressed, p)
    return "%s:%d" % (ipaddress.IPv4Address(int(addr, 16)), p)


def norm(ep):
    """Normalise a decoder endpoint string ("1.2.3.4:5" or "[v6]:5")."""
    host, _, port = ep.rpartition(":")
    host = host.strip("[]")
    a = ipaddress.ip_address(host)
    return ("[%s]:%d" if a.version == 6 else "%s:%d") % (a.compressed, int(port))


def read_proc(path):
    lines = open(path).read().splitlines()
    sync = "Origin" in lines[0]
    out = []
    for ln in lines[1:]:
        f = ln.split()
        if len(f) < 9:
            continue
        pe_name = pe_data = origin = None
        if sync:
            origin = f[8]
        elif len(f) >= 11:
            pe_name, pe_data = f[9], " ".join(f[10:])
        out.append(Entry(f[0], endpoint(f[1], f[2]), endpoint(f[3], f[4]),
                         endpoint(f[5], f[6]), f[7], pe_name, pe_data, origin))
    return out


def is_template(e):
    return e.client.endswith(":0")


def is_v6(e):
    return e.client.startswith("[")


def syncable(e, version):
    if version == 0 and is_v6(e):
        return False
    if is_template(e):
        return True
    if e.proto == "TCP":
        return e.state in TCP_SYNCED
    if e.proto == "SCTP":
        return e.state in SCTP_SYNCED
    return True


def kind(e):
    fam = "v6" if is_v6(e) else "v4"
    if is_template(e):
        if e.proto == "IP":
            return "template fwmark"
        return "template %s%s%s" % (e.proto, fam, " sip" if e.pe_name else "")
    return e.proto + fam


def show(e):
    s = "%s %s -> %s -> %s %s" % (e.proto, e.client, e.virtual, e.dest, e.state)
    return s + (" %s %s" % (e.pe_name, e.pe_data) if e.pe_data else "")


def expected(master, version):
    exp = [e for e in master if syncable(e, version)]
    if version == 0:
        exp = [e._replace(pe_name=None, pe_data=None) for e in exp]
    return exp, len(master) - len(exp)


def summary(entries):
    c = collections.Counter(kind(e) for e in entries)
    return ", ".join("%d %s" % (n, k) for k, n in sorted(c.items()))


def verdict(name, problems, info):
    for i in info:
        print("  " + i)
    if problems:
        more = " (+%d more)" % (len(problems) - 5) if len(problems) > 5 else ""
        print("FAIL %s: %s%s" % (name, "; ".join(problems[:5]), more))
        return 1
    print("PASS %s" % name)
    return 0


def diff(label_missing, label_extra, want, got, limit=4):
    """Multiset difference, described in words."""
    w, g = collections.Counter(want), collections.Counter(got)
    out = []
    for label, d in ((label_missing, w - g), (label_extra, g - w)):
        if d:
            items = sorted(d.elements(), key=str)
            out.append("%s %d: %s%s" % (label, len(items), ", ".join(map(str, items[:limit])),
                                        " ..." if len(items) > limit else ""))
    return out


def check_backup(name, version, master_path, sync_path):
    master, backup = read_proc(master_path), read_proc(sync_path)
    exp, skipped = expected(master, version)
    info = ["master: %d entries (%s), %d not syncable (state or v0 IPv6)"
            % (len(master), summary(master), skipped),
            "backup: %d entries in ip_vs_conn_sync" % len(backup)]
    problems = []
    not_sync = [e for e in backup if e.origin != "SYNC"]
    if not_sync:
        problems.append("%d backup entries with Origin other than SYNC, e.g. %s"
                        % (len(not_sync), show(not_sync[0])))

    def row(e):   # what ip_vs_conn_sync can show (no pe_data)
        return "%s %s -> %s -> %s %s" % (e.proto, e.client, e.virtual, e.dest, e.state)

    if version == 0:
        # one template per (proto, client, virtual) on the backup, dest = one of the master's
        want_t = collections.defaultdict(set)
        for e in exp:
            if is_template(e):
                want_t[(e.proto, e.client, e.virtual)].add((e.dest, e.state))
        got_t = collections.defaultdict(list)
        for e in backup:
            if is_template(e):
                got_t[(e.proto, e.client, e.virtual)].append((e.dest, e.state))
        for k in sorted(set(want_t) | set(got_t)):
            if k not in got_t:
                problems.append("missing template %s %s -> %s" % k)
            elif k not in want_t:
                problems.append("extra template %s %s -> %s" % k)
            elif len(got_t[k]) != 1 or got_t[k][0] not in want_t[k]:
                problems.append("template %s %s -> %s: backup (dest, state) %s, master %s"
                                % (k + (got_t[k], sorted(want_t[k]))))
        problems += diff("missing", "extra",
                         [row(e) for e in exp if not is_template(e)],
                         [row(e) for e in backup if not is_template(e)])
    else:
        problems += diff("missing", "extra", [row(e) for e in exp], [row(e) for e in backup])
    info.append("matched: %d expected entries (%s)" % (len(exp), summary(exp)))
    return verdict(name, problems, info)


def check_pedata(name, master_path, proc_path):
    master, bproc = read_proc(master_path), read_proc(proc_path)
    want = [(e.client, e.virtual, e.dest, e.pe_name, e.pe_data) for e in master if e.pe_data]
    got = [(e.client, e.virtual, e.dest, e.pe_name, e.pe_data) for e in bproc if e.pe_data]
    info = ["pe_data: master %d templates, backup %d" % (len(want), len(got))]
    problems = [] if want else ["the master has no template with pe_data"]
    problems += diff("pe_data missing", "pe_data extra", want, got)
    return verdict(name, problems, info)


def field_problems(j, e, version):
    """What /proc cannot show, checked against what the kernel must have sent."""
    out = []
    if j.get("template") != is_template(e):
        out.append("template %r but client port %s" % (j.get("template"), e.client))
    if version == 0:
        if j.get("timeout") is not None or j.get("fwmark") is not None or j.get("af") != 4:
            out.append("v0 entry with timeout/fwmark/af %r/%r/%r (want null/null/4)"
                       % (j.get("timeout"), j.get("fwmark"), j.get("af")))
    else:
        if not isinstance(j.get("timeout"), int) or j["timeout"] <= 0:
            out.append("timeout %r" % j.get("timeout"))
        if j.get("af") != (6 if is_v6(e) else 4):
            out.append("af %r for %s" % (j.get("af"), e.client))
        if e.proto == "IP" and j.get("fwmark") != int(ipaddress.ip_address(e.virtual.rsplit(":", 1)[0])):
            out.append("fwmark template %s with fwmark %r" % (e.virtual, j.get("fwmark")))
    return out


def check_decoded(name, version, master_path, jsonl_path):
    master = read_proc(master_path)
    exp, skipped = expected(master, version)
    latest, problems, n = {}, [], 0
    for i, line in enumerate(open(jsonl_path)):
        if not line.strip():
            continue
        try:
            j = json.loads(line)
        except ValueError:
            problems.append("line %d is not JSON: %r" % (i + 1, line[:60]))
            continue
        if "error" in j:
            problems.append("decoder error: %s" % j["error"])
            continue
        n += 1
        if j.get("version") != version:
            problems.append("line %d: version %r, expected %d" % (i + 1, j.get("version"), version))
        e = Entry(j["protocol"], norm(j["client"]), norm(j["virtual"]),
                  norm(j["destination"]), j["state"], j.get("pe_name"), j.get("pe_data"), None)
        problems += [("line %d: " % (i + 1)) + p for p in field_problems(j, e, version)]
        latest[(e.proto, e.client, e.virtual, e.dest, e.pe_data)] = e   # later updates win
    got = set(latest.values())
    want = set(exp)
    info = ["master: %d entries, %d not syncable; decoded: %d entries, %d connections"
            % (len(master), skipped, n, len(got))]
    problems += diff("not decoded", "decoded but not in /proc", [show(e) for e in want],
                     [show(e) for e in got])
    info.append("matched: %d entries (%s)" % (len(want & got), summary(want & got)))
    return verdict(name, problems, info)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 6 and a[1] == "backup":
        sys.exit(check_backup(a[2], int(a[3]), a[4], a[5]))
    if len(a) == 5 and a[1] == "pedata":
        sys.exit(check_pedata(a[2], a[3], a[4]))
    if len(a) == 6 and a[1] == "decoded":
        sys.exit(check_decoded(a[2], int(a[3]), a[4], a[5]))
    sys.exit(__doc__)
