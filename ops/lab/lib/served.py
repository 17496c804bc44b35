"""When did this director first serve the VIP after a fault? (run in the director's namespace)

served.py IFACE VIP FAULTFILE OUTFILE [SECONDS]

Watches IFACE with an AF_PACKET socket for the first packet this host FORWARDS to
a real server for VIP (outgoing, IPv4 destination VIP: direct routing keeps the
VIP as the destination) at or after the time written in FAULTFILE (a Unix
timestamp; packets before that file exists, or before that time, are ignored).
Writes "<time> <seconds after the fault>" to OUTFILE and exits 0; exits 1 after
SECONDS (default 60) without one. Writes OUTFILE.started once it listens.
"""
import socket
import sys
import time

ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4

iface, vip, faultfile, outfile = sys.argv[1:5]
limit = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
want = socket.inet_aton(vip)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind((iface, 0))
s.settimeout(0.05)
open(outfile + ".started", "w").close()
fault = None
end = time.time() + limit
while time.time() < end:
    if fault is None:
        try:
            with open(faultfile) as f:
                fault = float(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    try:
        frame, addr = s.recvfrom(2048)
    except socket.timeout:
        continue
    now = time.time()
    if fault is None or now < fault or addr[2] != PACKET_OUTGOING:
        continue
    if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[30:34] == want:
        with open(outfile, "w") as f:
            f.write("%.6f %.6f\n" % (now, now - fault))
        sys.exit(0)
sys.exit(1)
