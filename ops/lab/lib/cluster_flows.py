"""Long-lived TCP flows through a cluster's VIP, for the cluster scenario (run in the client namespace).

cluster_flows.py DIR VIP PORT BUSY IDLE [INTERVAL_MS]
cluster_flows.py serve PORT          (a real server: TCP echo on every address, port PORT)

Opens BUSY connections that echo a line every INTERVAL_MS (default 200) and IDLE connections that echo three
times, then stay quiet (an SSH session's pattern). Writes DIR/ready once every connection echoed, and DIR/ports (each connection's client port, one a line). Runs until
DIR/check exists; then every connection must echo once more (10 s each at most). A reset, a close, a timeout or a
wrong answer is a broken connection. Writes DIR/result.json ({"busy", "idle", "broken_busy", "broken_idle",
"errors"}) and prints one summary line.
"""
import json
import os
import socket
import sys
import threading
import time



def serve(port):
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
    serve(int(sys.argv[2]))
    sys.exit(0)

DIR, VIP, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
BUSY, IDLE = int(sys.argv[4]), int(sys.argv[5])
INTERVAL = (int(sys.argv[6]) if len(sys.argv) > 6 else 200) / 1000

lock = threading.Lock()
echoed = 0
ports = []
broken = {"busy": [], "idle": []}


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


threads = [threading.Thread(target=flow, args=("busy", n)) for n in range(BUSY)]
threads += [threading.Thread(target=flow, args=("idle", BUSY + n)) for n in range(IDLE)]
for t in threads:
    t.start()
    time.sleep(0.02)
deadline = time.time() + 120
while time.time() < deadline:
    with lock:
        if echoed + len(broken["busy"]) + len(broken["idle"]) >= BUSY + IDLE:
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
    "broken_busy": len(broken["busy"]),
    "broken_idle": len(broken["idle"]),
    "errors": broken["busy"][:5] + broken["idle"][:5],
}
with open(os.path.join(DIR, "result.json"), "w") as f:
    json.dump(result, f)
print(f"flows: {BUSY} busy, {IDLE} idle; broken: {result['broken_busy']} busy, {result['broken_idle']} idle")
