"""Client traffic for the failover scenarios (run in the client namespace).

flows.py DIR TAG [busy=40,busy6=4,idle=8,calls=6,udp=4,interval_ms=100]

Opens long-lived TCP connections through the VIPs and keeps data flowing on them
while a failover happens, then checks what survived:
  busy    TCP to 10.0.0.100:80 (DR): one echo every interval_ms on each
  busy6   TCP to [fd00::100]:443 (NAT): the same
  idle    TCP to 10.0.0.100:80: three echoes at the start, then quiet until the
          check (an SSH session's pattern: the kernel's sync never re-sends them)
  calls   SIP calls to 10.0.0.100:5060 (persistence engine sip, DR): one INVITE
          each from its own source port; the answering server is remembered
  udp     UDP queries to 10.0.0.100:53 (persistent /24, NAT); likewise
Writes DIR/ready once every connection echoed and every call was answered.
Then runs until DIR/check exists, and checks: every idle connection echoes once
more; every call, sent again from a NEW source port with the same Call-ID,
reaches the server that took it before (its template, pe_data included, is on
the director now serving); a new UDP flow goes to the server of the /24's
template; every busy connection echoes after the check began. Writes
DIR/result.json and prints one summary line. DIR/fault (if written, the time
of the fault as a Unix timestamp) is used to report the longest time a busy
connection went without an answer across it.
All sockets have a 10 s limit for the final echo; a reset or close is a loss.
"""
import errno
import json
import os
import selectors
import socket
import sys
import time

VIP4, VIP6 = "10.0.0.100", "fd00::100"
CLIENT4 = "10.0.0.10"


def parse(spec):
    opts = dict(busy=40, busy6=4, idle=8, calls=6, udp=4, interval_ms=100)
    for part in filter(None, spec.split(",")):
        k, v = part.split("=")
        if k not in opts:
            sys.exit("flows: unknown option %s" % k)
        opts[k] = int(v)
    return opts


class Conn:
    def __init__(self, kind, i, family, addr):
        self.kind, self.i = kind, i
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(addr)
        self.replies = []       # reply times (busy ones)
        self.lost = None        # why it was lost
        self.pending = b""      # echo still expected
        self.sent_at = None
        self.seq = 0

    def echo(self, timeout=10):
        """A blocking echo; None when answered, else why not."""
        msg = b"%s-%d-%d;" % (self.kind.encode(), self.i, self.seq)
        self.seq += 1
        self.sock.setblocking(True)
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = self.sock.recv(4096)
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


def sip_invite(call_id, port):
    return ("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d\r\n"
            "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n" % (CLIENT4, port, call_id)).encode()


def ask(port, dst, payload, server_of):
    """Send from CLIENT4:port (up to 3 tries), return the answering server or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((CLIENT4, port))
    s.settimeout(2)
    try:
        for _ in range(3):
            s.sendto(payload, dst)
            try:
                d, _ = s.recvfrom(4096)
                return server_of(d)
            except OSError:
                pass
        return None
    finally:
        s.close()


def sip_server(d):
    for line in d.split(b"\r\n"):
        if line.lower().startswith(b"server:"):
            return line.split(b":", 1)[1].strip().decode()
    return "?"


def dns_server(d):
    return d[1:].split(b" ", 1)[0].decode()


def main():
    out, tag = sys.argv[1], sys.argv[2]
    o = parse(sys.argv[3] if len(sys.argv) > 3 else "")
    interval = o["interval_ms"] / 1000.0
    base = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}.get(tag[-1], 5) * 100
    busy, idle, problems = [], [], []
    for kind, n, family, addr, group in (
        ("busy", o["busy"], socket.AF_INET, (VIP4, 80), busy),
        ("busy6", o["busy6"], socket.AF_INET6, (VIP6, 443), busy),
        ("idle", o["idle"], socket.AF_INET, (VIP4, 80), idle),
    ):
        for i in range(n):
            try:
                c = Conn(kind, i, family, addr)
            except OSError as e:
                problems.append("%s %d: connect: %s" % (kind, i, e))
                continue
            for _ in range(3):
                why = c.echo()
                if why:
                    problems.append("%s %d: %s" % (kind, i, why))
                    break
            group.append(c)
    calls = {}
    for i in range(o["calls"]):
        call_id = "%s-%d@client.example" % (tag, i)
        calls[call_id] = ask(15000 + base + i, (VIP4, 5060), sip_invite(call_id, 15000 + base + i), sip_server)
    udp_first = [ask(16000 + base + i, (VIP4, 53), b"q" * 20, dns_server) for i in range(o["udp"])]
    problems += ["call %s: no answer" % k for k, v in calls.items() if v is None]
    problems += ["udp %d: no answer" % i for i, v in enumerate(udp_first) if v is None]
    with open(os.path.join(out, "ready"), "w") as f:
        f.write("busy %d idle %d calls %d udp %d problems %d\n" % (len(busy), len(idle), len(calls), len(udp_first),
                                                                     len(problems)))
    print("ready: %d busy, %d idle, %d calls on %s, udp on %s%s" % (
        len(busy), len(idle), len(calls), ",".join(sorted(set(map(str, calls.values())))),
        ",".join(sorted(set(map(str, udp_first)))), "; problems: " + "; ".join(problems) if problems else ""),
        flush=True)

    # ---- the busy loop: an echo every interval on each busy connection, until DIR/check ----
    sel = selectors.DefaultSelector()
    for c in busy:
        c.sock.setblocking(False)
        sel.register(c.sock, selectors.EVENT_READ, c)
    check = os.path.join(out, "check")
    next_send = {id(c): time.time() for c in busy}
    check_at = None
    deadline = time.time() + 900
    while True:
        now = time.time()
        if check_at is None and os.path.exists(check):
            check_at = now
        if check_at is not None:
            # every busy connection must have answered after the check began
            if all(c.lost or (c.replies and c.replies[-1] > check_at) for c in busy) or now > check_at + 15:
                break
        if now > deadline:
            problems.append("no check file within 900 s")
            break
        for c in busy:
            if c.lost or c.pending or now < next_send[id(c)]:
                continue
            msg = b"%s-%d-%d;" % (c.kind.encode(), c.i, c.seq)
            c.seq += 1
            try:
                c.sock.send(msg)
                c.pending, c.sent_at = msg, now
            except BlockingIOError:
                pass
            except OSError as e:
                c.lost = "send: " + (e.strerror or str(e))
        for key, _ in sel.select(timeout=0.01):
            c = key.data
            try:
                d = c.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                c.lost = "reset" if e.errno == errno.ECONNRESET else (e.strerror or str(e))
                sel.unregister(c.sock)
                continue
            if not d:
                c.lost = "closed"
                sel.unregister(c.sock)
                continue
            if not c.pending.startswith(d):
                c.lost = "bad echo"
                sel.unregister(c.sock)
                continue
            c.pending = c.pending[len(d):]
            if not c.pending:
                t = time.time()
                c.replies.append(t)
                next_send[id(c)] = t + interval
    sel.close()

    # ---- the checks ----
    lost = {}
    for c in busy:
        if c.lost:
            lost["%s %d" % (c.kind, c.i)] = c.lost
        elif not (c.replies and check_at and c.replies[-1] > check_at):
            lost["%s %d" % (c.kind, c.i)] = "no answer for 15 s after the check began"
    for c in idle:
        why = c.echo()
        if why:
            lost["%s %d" % (c.kind, c.i)] = why
    calls_after = {k: ask(17000 + base + i, (VIP4, 5060), sip_invite(k, 17000 + base + i), sip_server)
                   for i, k in enumerate(calls)}
    calls_kept = sum(1 for k in calls if calls[k] is not None and calls_after[k] == calls[k])
    udp_after = [ask(18000 + base + i, (VIP4, 53), b"r" * 20, dns_server) for i in range(o["udp"])]
    template = udp_first[0] if udp_first else None
    udp_kept = sum(1 for v in udp_after if v is not None and v == template)
    fault = None
    try:
        with open(os.path.join(out, "fault")) as f:
            fault = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    gaps = []
    if fault is not None:
        for c in busy:
            before = [t for t in c.replies if t <= fault]
            after = [t for t in c.replies if t > fault]
            if before and after:
                # the longest silence of this connection that spans or follows the fault
                times = [before[-1]] + after
                gaps.append(max(b - a for a, b in zip(times, times[1:])))
    gaps.sort()
    tcp_total = len(busy) + len(idle)
    result = {
        "tag": tag,
        "tcp_total": tcp_total,
        "tcp_survived": tcp_total - len(lost),
        "busy": len(busy), "idle": len(idle),
        "lost": lost,
        "calls": len(calls), "calls_kept": calls_kept,
        "calls_before": calls, "calls_after": calls_after,
        "udp": len(udp_after), "udp_kept": udp_kept, "udp_template": template, "udp_after": udp_after,
        "setup_problems": problems,
        "gap_ms_max": round(gaps[-1] * 1000, 1) if gaps else None,
        "gap_ms_p50": round(gaps[len(gaps) // 2] * 1000, 1) if gaps else None,
        "interval_ms": o["interval_ms"],
    }
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, sort_keys=True)
        f.write("\n")
    print("%s: tcp %d/%d survived, calls %d/%d kept their server, udp %d/%d kept the template, "
          "longest silence of a busy connection %s ms (p50 %s)%s" % (
              tag, result["tcp_survived"], tcp_total, calls_kept, len(calls), udp_kept, len(udp_after),
              result["gap_ms_max"], result["gap_ms_p50"],
              "; lost: " + ", ".join("%s (%s)" % kv for kv in sorted(lost.items())) if lost else ""), flush=True)


main()
