"""Long-lived flows through a cluster's VIP, for the cluster scenario (run in the client namespace).

cluster_flows.py DIR VIP PORT BUSY IDLE [INTERVAL_MS [UDP [CALLS]]]
cluster_flows.py serve PORT NAME VIP (a real server: TCP echo on every address, port PORT; UDP on VIP:53 answering
                                     "NAME <datagram>", SIP on VIP:5060 answering 200 OK with "Server: NAME")

Opens BUSY TCP connections that echo a line every INTERVAL_MS (default 200) and IDLE ones that echo three times,
then stay quiet (an SSH session's pattern); UDP flows to VIP:53 (one source port each, a datagram every
INTERVAL_MS: rr without persistence, so only the connection entry keeps a flow on its server); and CALLS SIP calls
to VIP:5060 (persistent, the SIP engine: one Call-ID from two source ports, so that ECMP spreads a call over the
members and only the Call-ID template keeps it on one server; the second ports join once DIR/join exists, which the
scenario writes once DIR/calls-first does and every member holds the calls' templates, or after 90 s). Writes
DIR/ready once every flow answered, and DIR/ports (each TCP connection's client port, one a line). Runs until
DIR/check exists; then every flow must answer once more (TCP 10 s; UDP and SIP 5 tries of 1 s). A reset, a close, a
timeout or a wrong answer breaks a TCP connection; a UDP flow or call is broken when another server answers it, or
none does at the check (a datagram lost while a route moves is tolerated). Writes DIR/result.json ({"busy",
"idle", "udp", "calls", "broken_busy", "broken_idle", "broken_udp", "broken_calls", "errors"}) and prints one
summary line.

Every datagram socket is bound to a source port no earlier batch of the scenario used (below the ephemeral range,
counted in DIR/../next-udp-port): a UDP connection entry outlives its socket by the UDP timeout (300 s), and a new
call that the kernel gave an old call's port would follow that entry to the old call's server instead of being
scheduled by its Call-ID (seen once: "second port answered by crs2, not crs3").
"""
import json
import os
import socket
import sys
import threading
import time



def udp_serve(vip, port, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((vip, port))   # direct routing: the answer leaves from the VIP the client sent to
    while True:
        d, peer = s.recvfrom(4096)
        s.sendto(answer(d), peer)


def sip_ok(name, d):
    call_id = b""
    for line in d.split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            call_id = line
    return b"SIP/2.0 200 OK\r\n" + call_id + b"\r\nServer: " + name + b"\r\nContent-Length: 0\r\n\r\n"


def serve(port, name, vip):
    name = name.encode()
    threading.Thread(target=udp_serve, args=(vip, 53, lambda d: name + b" " + d), daemon=True).start()
    threading.Thread(target=udp_serve, args=(vip, 5060, lambda d: sip_ok(name, d)), daemon=True).start()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(512)

    def echo_back(c):
        with c:
            while True:
                try:
                    data = c.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                c.sendall(data)

    while True:
        c, _ = listener.accept()
        threading.Thread(target=echo_back, args=(c,), daemon=True).start()


if sys.argv[1] == "serve":
    serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    sys.exit(0)

DIR, VIP, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
BUSY, IDLE = int(sys.argv[4]), int(sys.argv[5])
INTERVAL = (int(sys.argv[6]) if len(sys.argv) > 6 else 200) / 1000
UDP = int(sys.argv[7]) if len(sys.argv) > 7 else 0
CALLS = int(sys.argv[8]) if len(sys.argv) > 8 else 0
TAG = os.path.basename(os.path.normpath(DIR))
JOIN_WAIT = 90   # seconds at most for DIR/join, after which the second ports join anyway

lock = threading.Lock()
echoed = 0
first_ports = 0
ports = []
broken = {"busy": [], "idle": [], "udp": [], "calls": []}


def echo(s, n, line):
    message = f"{line} {n}\n".encode()
    s.sendall(message)
    got = b""
    while len(got) < len(message):
        chunk = s.recv(len(message) - len(got))
        if not chunk:
            raise ConnectionError("closed by the peer")
        got += chunk
    if got != message:
        raise ConnectionError(f"wrong echo {got!r}")


def flow(kind, n):
    global echoed
    try:
        s = socket.create_connection((VIP, PORT), timeout=30)
        s.settimeout(10)
        local = s.getsockname()[1]
        with lock:
            ports.append(local)
    except OSError as e:
        with lock:
            broken[kind].append(f"connect {n}: {e}")
        return
    line = 0
    try:
        for _ in range(3):
            line += 1
            echo(s, n, line)
        with lock:
            echoed += 1
        while not os.path.exists(os.path.join(DIR, "check")):
            time.sleep(INTERVAL)
            if kind == "busy":
                line += 1
                echo(s, n, line)
        line += 1
        echo(s, n, line)
    except OSError as e:
        with lock:
            broken[kind].append(f"port {local} after {line - 1} echoes: {e}")
    finally:
        s.close()


def ask(s, payload, server_of, tries=5):
    """One datagram answered: the answering server's name, or None after `tries` silent seconds."""
    for _ in range(tries):
        s.send(payload)
        deadline = time.time() + 1
        while time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                answer = s.recv(4096)
            except socket.timeout:
                break
            name = server_of(answer, payload)
            if name:
                return name
    return None


def datagram_flow(kind, n, sockets, payload, server_of):
    """A UDP flow (one socket) or a call (two): every answer from the first server, and one at the check."""
    global echoed, first_ports
    first, sent = None, 0

    def send(s):
        nonlocal sent
        sent += 1
        return ask(s, payload(sent), server_of)

    try:
        first = send(sockets[0])
        if first is None:
            raise ConnectionError("no answer")
        if len(sockets) > 1:
            for _ in range(3):
                if send(sockets[0]) not in (first, None):
                    raise ConnectionError("another server within the first socket")
            # The second source port joins once the scenario says the call's template is on every member
            # (DIR/join, written once every call's first port is set: DIR/calls-first).
            with lock:
                first_ports += 1
                if first_ports == CALLS:
                    open(os.path.join(DIR, "calls-first"), "w").close()
            deadline = time.time() + JOIN_WAIT
            while not os.path.exists(os.path.join(DIR, "join")) and time.time() < deadline:
                time.sleep(0.05)
            for s in sockets[1:]:
                name = send(s)
                if name != first:
                    raise ConnectionError(f"second port answered by {name}, not {first}")
        with lock:
            echoed += 1
        turn = 0
        while not os.path.exists(os.path.join(DIR, "check")):
            time.sleep(INTERVAL)
            turn += 1
            name = send(sockets[turn % len(sockets)])
            if name is not None and name != first:
                raise ConnectionError(f"moved from {first} to {name}")
        for s in sockets:
            name = send(s)
            if name != first:
                raise ConnectionError(f"at the check: {name or 'no answer'}, not {first}")
    except OSError as e:
        with lock:
            broken[kind].append(f"{kind} {n}: {e}")
    finally:
        for s in sockets:
            s.close()


UDP_PORTS = os.path.join(os.path.dirname(os.path.normpath(DIR)), "next-udp-port")
UDP_PORT_FIRST, UDP_PORT_LAST = 20000, 32767   # below net.ipv4.ip_local_port_range (32768-60999)


def udp_socket(port):
    """A datagram socket to VIP:port from a source port of its own (the scenario's batches run one at a time)."""
    with lock:
        try:
            with open(UDP_PORTS) as f:
                local = int(f.read())
        except (OSError, ValueError):
            local = UDP_PORT_FIRST
        if local > UDP_PORT_LAST:
            local = UDP_PORT_FIRST
        with open(UDP_PORTS, "w") as f:
            f.write(f"{local + 1}\n")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", local))
    s.connect((VIP, port))
    return s


def udp_flow(n):
    def payload(i):
        return f"{TAG} udp {n} {i}".encode()

    def server_of(answer, sent):
        name, _, rest = answer.partition(b" ")
        return name.decode() if rest == sent else None

    datagram_flow("udp", n, [udp_socket(53)], payload, server_of)


def sip_call(n):
    call_id = f"{TAG}-call-{n}@client.example"

    def payload(i):
        return (f"INFO sip:bob@example.com SIP/2.0\r\nCall-ID: {call_id}\r\nCSeq: {i} INFO\r\n"
                "Content-Length: 0\r\n\r\n").encode()

    def server_of(answer, sent):
        lines = answer.split(b"\r\n")
        if f"Call-ID: {call_id}".encode() not in lines:
            return None
        return next((l[8:].decode() for l in lines if l.startswith(b"Server: ")), None)

    datagram_flow("calls", n, [udp_socket(5060), udp_socket(5060)], payload, server_of)


threads = [threading.Thread(target=flow, args=("busy", n)) for n in range(BUSY)]
threads += [threading.Thread(target=flow, args=("idle", BUSY + n)) for n in range(IDLE)]
threads += [threading.Thread(target=udp_flow, args=(n,)) for n in range(UDP)]
threads += [threading.Thread(target=sip_call, args=(n,)) for n in range(CALLS)]
for t in threads:
    t.start()
    time.sleep(0.02)
deadline = time.time() + 120
while time.time() < deadline:
    with lock:
        if echoed + sum(len(b) for b in broken.values()) >= BUSY + IDLE + UDP + CALLS:
            break
    time.sleep(0.1)
with open(os.path.join(DIR, "ports"), "w") as f:
    f.write("".join(f"{p}\n" for p in sorted(ports)))
with open(os.path.join(DIR, "ready"), "w") as f:
    f.write(f"{echoed}\n")
for t in threads:
    t.join()
result = {
    "busy": BUSY,
    "idle": IDLE,
    "udp": UDP,
    "calls": CALLS,
    "broken_busy": len(broken["busy"]),
    "broken_idle": len(broken["idle"]),
    "broken_udp": len(broken["udp"]),
    "broken_calls": len(broken["calls"]),
    "errors": broken["busy"][:5] + broken["idle"][:5] + broken["udp"][:5] + broken["calls"][:5],
}
with open(os.path.join(DIR, "result.json"), "w") as f:
    json.dump(result, f)
print(f"flows: {BUSY} busy, {IDLE} idle, {UDP} udp, {CALLS} calls; broken: {result['broken_busy']} busy, "
      f"{result['broken_idle']} idle, {result['broken_udp']} udp, {result['broken_calls']} calls")
