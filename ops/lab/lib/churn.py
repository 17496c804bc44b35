#!/usr/bin/env python3
"""Open new TCP connections to a VIP at a steady rate and hold them, until SIGTERM.

    churn.py HOST PORT RATE PORTS_FILE

RATE new connections per second; each held open with a byte echoed every two seconds (so the director's kernel
master syncs it). SIGUSR1 stops the opening and keeps holding: the kernels' tables stand still while a check reads
them (every read(2) of /proc/net/ip_vs_conn walks the table afresh, so a connection added or removed meanwhile
makes a read repeat or skip one). PORTS_FILE gets the client ports of the connections that opened, rewritten every second and at
the end (atomically), for the checks to look each one up in a kernel's table.
"""
import os
import signal
import socket
import sys
import time

host, port, rate, path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
socks, failed, stop, opening = [], 0, False, True


def on_term(*_):
    global stop
    stop = True


def on_usr1(*_):
    global opening
    opening = False


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGUSR1, on_usr1)


def save():
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(str(s.getsockname()[1]) for s in socks) + "\n")
    os.rename(path + ".tmp", path)


start, last_save, last_echo = time.time(), 0.0, 0.0
while not stop:
    now = time.time()
    while opening and len(socks) + failed < (now - start) * rate and not stop:
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect((host, port))
            s.sendall(b"c")
            s.recv(10)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    if now - last_echo >= 2:
        for s in socks:
            try:
                s.sendall(b"k")
                s.recv(10)
            except OSError:
                pass
        last_echo = now
    if now - last_save >= 1:
        save()
        last_save = now
    time.sleep(0.05)
save()
print("opened=%d failed=%d" % (len(socks), failed))
