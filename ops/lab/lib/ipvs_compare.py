"""Compare `lvsync ipvs list --json` with `ipvsadm -Ln` of the same kernel (run in the guest, stdlib only).

ipvs_compare.py NAME LIST.json IPVSADM.txt [DAEMONS.txt]
Prints one line: PASS NAME: ... or FAIL NAME: what differed.
ipvsadm -Ln prints "TCP  10.0.0.100:80 rr persistent 120 pe sip" per service and
"  -> 10.0.0.21:80   Route   1   0   0" per real server; FWM services as "FWM  7 rr ...".
"""
import ipaddress
import json
import sys


def norm_endpoint(text):
    if text.startswith("["):
        host, port = text[1:].split("]:")
        return "[%s]:%s" % (ipaddress.ip_address(host).compressed, port)
    host, port = text.rsplit(":", 1)
    return "%s:%s" % (ipaddress.ip_address(host), port)


def from_ipvsadm(text):
    services, current = {}, None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] in ("IP", "Prot") or line.startswith("  -> RemoteAddress"):
            continue
        if words[0] == "->":
            addr = words[1] if ":" in words[1] or words[1].startswith("[") else words[1] + ":0"
            services[current]["reals"].add((norm_endpoint(addr), words[2], int(words[3])))
            continue
        proto, where, sched = words[0], words[1], words[2]
        key = ("FWM", int(where)) if proto == "FWM" else (proto, norm_endpoint(where))
        rest = words[3:]
        persistent = int(rest[rest.index("persistent") + 1]) if "persistent" in rest else None
        pe = rest[rest.index("pe") + 1] if "pe" in rest else None
        services[key] = {"scheduler": sched, "persistent": persistent, "pe": pe, "reals": set()}
        current = key
    return services


def from_json(doc):
    services = {}
    for s in doc["services"]:
        key = ("FWM", s["fwmark"]) if s["fwmark"] is not None else (s["protocol"], norm_endpoint(s["address"]))
        reals = set()
        for r in s["real_servers"]:
            reals.add((norm_endpoint(r["address"]), r["forwarding"], r["weight"]))
        services[key] = {
            "scheduler": s["scheduler"],
            "persistent": s["persistence_timeout"] if s["persistent"] else None,
            "pe": s["pe_name"],
            "reals": reals,
        }
    return services


def main():
    name, list_json, ipvsadm_txt = sys.argv[1:4]
    try:
        doc = json.load(open(list_json))
        ours = from_json(doc)
        theirs = from_ipvsadm(open(ipvsadm_txt).read())
    except Exception as e:  # a parse failure is a failed check, with the reason
        print("FAIL %s: cannot read the listings: %s" % (name, e))
        return
    problems = []
    for key in sorted(set(ours) | set(theirs), key=str):
        if key not in ours:
            problems.append("missing from lvsync: %s" % (key,))
        elif key not in theirs:
            problems.append("not in ipvsadm: %s" % (key,))
        elif ours[key] != theirs[key]:
            problems.append("%s: lvsync %s, ipvsadm %s" % (key, ours[key], theirs[key]))
    if len(sys.argv) > 4:
        # ipvsadm -L --daemon: "master sync daemon (mcast=lvsync0, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"
        expected = set()
        for line in open(sys.argv[4]).read().splitlines():
            if "sync daemon" in line:
                role = line.split()[0]
                fields = dict(f.split("=") for f in line[line.index("(") + 1:line.rindex(")")].split(", "))
                expected.add((role, fields["mcast"], int(fields["syncid"]), int(fields["port"]), int(fields["ttl"])))
        listed = {(d["role"], d["interface"], d["syncid"], d["port"], d["ttl"]) for d in doc["sync_daemons"]}
        if expected != listed:
            problems.append("sync daemons: lvsync %s, ipvsadm %s" % (sorted(listed), sorted(expected)))
    if problems:
        print("FAIL %s: %s" % (name, "; ".join(problems)))
    else:
        reals = sum(len(s["reals"]) for s in ours.values())
        print("PASS %s: %d services, %d real servers equal to ipvsadm -Ln" % (name, len(ours), reals))


main()
