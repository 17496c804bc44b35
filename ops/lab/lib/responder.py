"""Real-server responders for the lab (run in rs1/rs2: responder.py V4ADDR V6ADDR).

TCP echo on :80 and :8080 (DR: the VIP is on lo) and on [V6ADDR]:443 (NAT);
SCTP echo on V4ADDR:3868 (NAT); UDP answers on V4ADDR:53 (NAT: "A<V4ADDR> "
and the query), 10.0.0.100:5060 (DR, a SIP 200 OK naming V4ADDR in its Server
header) and [fd00::100]:4789 (ip6ip6 tunnel).
NAT sockets bind the real address and DR/tunnel ones the VIP, so the source
address picks the route back (via the director, or straight to the client).
"""
import socket
import sys
import threading

V4, V6 = sys.argv[1], sys.argv[2]


def echo_conn(c):
    with c:
        while True:
            try:
                d = c.recv(4096)
            except OSError:
                return
            if not d:
                return
            c.sendall(d)


def stream_server(family, proto, addr):
    s = socket.socket(family, socket.SOCK_STREAM, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr)
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()


def udp_server(family, addr, answer):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr)
    while True:
        d, peer = s.recvfrom(4096)
        s.sendto(answer(d), peer)


def sip_ok(d):
    call_id = b""
    for line in d.split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            call_id = line
    # Server: who answered (the failover scenario checks that a call stays on its server)
    return (b"SIP/2.0 200 OK\r\n" + call_id + b"\r\nServer: " + V4.encode()
            + b"\r\nContent-Length: 0\r\n\r\n")


servers = [
    (stream_server, (socket.AF_INET, 0, ("0.0.0.0", 80))),
    (stream_server, (socket.AF_INET, 0, ("0.0.0.0", 8080))),
    (stream_server, (socket.AF_INET6, 0, (V6, 443))),
    (stream_server, (socket.AF_INET, socket.IPPROTO_SCTP, (V4, 3868))),
    (udp_server, (socket.AF_INET, (V4, 53), lambda d: b"A" + V4.encode() + b" " + d)),
    (udp_server, (socket.AF_INET, ("10.0.0.100", 5060), sip_ok)),
    (udp_server, (socket.AF_INET6, ("fd00::100", 4789), lambda d: b"T" + d)),
]
for fn, args in servers:
    threading.Thread(target=fn, args=args, daemon=True).start()
print("responder up", V4, V6, flush=True)
threading.Event().wait()
