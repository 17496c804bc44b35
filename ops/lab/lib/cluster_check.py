"""Where a batch of cluster flows stands in each member's kernel (run in the guest, as root).

cluster_check.py PORTS VIP PORT MEMBER...

Reads /proc/net/ip_vs_conn_sync in each member's namespace (ip netns exec) and counts the batch's connections (the
client ports listed in the file PORTS, one a line) to VIP:PORT: how many the member holds, and how many of them
have origin LOCAL (made by its own traffic, not taken from another member). Prints one line per member and exits 0
when every member holds every connection and each connection is LOCAL on exactly one member.
"""
import ipaddress
import subprocess
import sys

ports_file, vip, vport, members = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
wanted = {int(line) for line in open(ports_file) if line.strip()}
vip_hex = f"{int(ipaddress.IPv4Address(vip)):08X}"
local_on = {}
ok = True
for member in members:
    text = subprocess.run(
        ["ip", "netns", "exec", member, "cat", "/proc/net/ip_vs_conn_sync"], capture_output=True, text=True
    ).stdout
    held = local = 0
    for line in text.splitlines()[1:]:
        f = line.split()
        # Pro FromIP FPrt ToIP TPrt DestIP DPrt State Origin Expires
        if len(f) < 10 or f[0] != "TCP" or f[3] != vip_hex or int(f[4], 16) != vport:
            continue
        port = int(f[2], 16)
        if port not in wanted:
            continue
        held += 1
        if f[8] == "LOCAL":
            local += 1
            local_on.setdefault(port, []).append(member)
    print(f"{member}: holds {held}/{len(wanted)}, {local} local")
    ok = ok and held == len(wanted)
twice = [p for p, on in local_on.items() if len(on) > 1]
unowned = len(wanted) - len(local_on)
print(f"local on two members: {len(twice)}; local on none: {unowned}")
sys.exit(0 if ok and not twice and unowned == 0 else 1)
