"""Client traffic for the lab (run in the client namespace).

traffic.py hold SECONDS  open TCP v4 (:80), TCP v6 ([fd00::100]:443), fwmark TCP
                         (:8080) and SCTP (:3868) connections, exchange a few
                         echoes on each, print "ready", keep them open SECONDS
                         (established conns are what a failover must keep)
traffic.py udp [N]       UDP v4 (:53), SIP (:5060, one Call-ID per flow) and
                         UDP v6 ([fd00::100]:4789) flows, 3 datagrams each;
                         N (default 0) shifts the source ports and Call-IDs by
                         N: another round of NEW flows (N a multiple of 10)
traffic.py drill TRIGGER [KIND=N,...]
                         the failover drill: open and echo-test TCP/SCTP
                         connections (default tcp4=4,tcp6=3,fwmark=3,sctp=2),
                         print "ready <n>", wait (at most 900 s) until the file
                         TRIGGER exists, then send on EVERY connection again and
                         print "after <kind> <answered>/<n>", each failure's
                         reason, and "survived <K>/<N>"
Each kind prints "<kind> <answered>/<tried>": the real servers must answer.
"""
import collections
import os
import socket
import sys
import time

VIP4, VIP6 = "10.0.0.100", "fd00::100"
CALL_ID = "call-%d-a84b4c76e66710@client.example"


def stream(kind, family, proto, addr, n, rounds=3):
    socks, ok = [], 0
    for i in range(n):
        s = socket.socket(family, socket.SOCK_STREAM, proto)
        s.settimeout(5)
        try:
            s.connect(addr)
            for r in range(rounds):
                msg = b"%s-%d-%d" % (kind.encode(), i, r)
                s.sendall(msg)
                if s.recv(100) != msg:
                    raise OSError("bad echo")
            ok += 1
        except OSError as e:
            print(kind, i, "error:", e, flush=True)
        socks.append(s)
    print("%s %d/%d" % (kind, ok, n), flush=True)
    return socks


STREAMS = {   # kind: (family, protocol, address)
    "tcp4": (socket.AF_INET, 0, (VIP4, 80)),            # DR
    "tcp6": (socket.AF_INET6, 0, (VIP6, 443)),          # NAT
    "fwmark": (socket.AF_INET, 0, (VIP4, 8080)),        # fwmark 7, DR, persistent
    "sctp": (socket.AF_INET, socket.IPPROTO_SCTP, (VIP4, 3868)),   # NAT
}


def retest(kind, i, s, timeout=10):
    """Send once more on an established connection; None if echoed, else why not."""
    msg = b"after-%s-%d" % (kind.encode(), i)
    s.settimeout(timeout)
    try:
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(100)
            if not d:
                return "closed"
            got += d
        return None if got == msg else "bad echo"
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return e.strerror or str(e)


def drill(trigger, spec):
    conns = []
    for part in spec.split(","):
        kind, n = part.split("=")
        family, proto, addr = STREAMS[kind]
        socks = stream(kind, family, proto, addr, int(n))
        conns += [(kind, i, s) for i, s in enumerate(socks)]
    print("ready %d" % len(conns), flush=True)
    deadline = time.time() + 900
    while not os.path.exists(trigger):
        if time.time() > deadline:
            sys.exit("drill: no trigger %s" % trigger)
        time.sleep(0.1)
    t0, ok, why = time.time(), collections.Counter(), collections.Counter()
    total = collections.Counter(kind for kind, _, _ in conns)
    for kind, i, s in conns:
        reason = retest(kind, i, s)
        if reason is None:
            ok[kind] += 1
        else:
            why[reason] += 1
            print("lost %s %d: %s" % (kind, i, reason), flush=True)
    for kind in total:
        print("after %s %d/%d" % (kind, ok[kind], total[kind]), flush=True)
    print("failures %s" % (", ".join("%s %d" % kv for kv in sorted(why.items())) or "none"))
    print("survived %d/%d in %.1f s" % (sum(ok.values()), len(conns), time.time() - t0), flush=True)


def dgram(kind, family, src, dst, n, payload):
    ok = 0
    for i in range(n):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((src[0], src[1] + i))
        s.settimeout(1)
        got = False
        for _ in range(3):
            s.sendto(payload(i), dst)
            try:
                s.recvfrom(4096)
                got = True
            except OSError:
                pass
        ok += got
        s.close()
    print("%s %d/%d" % (kind, ok, n), flush=True)


def sip(i):
    return ("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.10:%d\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
            % (5070 + i, CALL_ID % i)).encode()


if sys.argv[1] == "hold":
    keep = []
    keep += stream("tcp4", socket.AF_INET, 0, (VIP4, 80), 4)
    keep += stream("tcp6", socket.AF_INET6, 0, (VIP6, 443), 3)
    keep += stream("fwmark", socket.AF_INET, 0, (VIP4, 8080), 3)
    keep += stream("sctp", socket.AF_INET, socket.IPPROTO_SCTP, (VIP4, 3868), 2)
    print("ready", flush=True)
    time.sleep(float(sys.argv[2]))
elif sys.argv[1] == "udp" and len(sys.argv) in (2, 3):
    k = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    dgram("udp4", socket.AF_INET, ("10.0.0.10", 40000 + k), (VIP4, 53), 5, lambda i: b"q" * 20)
    dgram("sip", socket.AF_INET, ("10.0.0.10", 5070 + k), (VIP4, 5060), 3, lambda i: sip(i + k))
    dgram("udp6", socket.AF_INET6, ("fd00::10", 41000 + k), (VIP6, 4789), 3, lambda i: b"v" * 30)
elif sys.argv[1] == "drill" and len(sys.argv) in (3, 4):
    drill(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else "tcp4=4,tcp6=3,fwmark=3,sctp=2")
else:
    sys.exit("usage: traffic.py hold SECONDS | udp [N] | drill TRIGGER [KIND=N,...]")
