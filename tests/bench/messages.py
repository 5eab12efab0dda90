#!/usr/bin/env python3
"""Messages between workers: how fast the master relays them.

mchost with the messages fixture (tests/plugins/messages.c) on WORKERS
workers; one request makes worker 1 publish N short messages ("x0",
"x1", ...) on one channel, and the time runs until every worker has
counted all N (each worker's /log ends with "total N"). Reported per round:
messages per second (published and delivered everywhere) and deliveries
per second (messages x workers). There is no nginx counterpart to run
beside it: nginx's workers have no messages between them.

    tests/bench/messages.py BUILD_DIR [N] [ROUNDS] [WORKERS]

Everything it starts it stops by PID; traffic goes to 127.0.0.1 only.
"""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    return r.getheader("X-Worker"), r.read().decode()


def one_round(build, n, workers):
    port = free_port()
    argv = [os.path.join(build, "mchost"), "--plugin",
            os.path.join(build, "tests", "plugins", "messages.so"),
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        conns, deadline = {}, time.monotonic() + 20
        held = []
        while len(conns) < workers and time.monotonic() < deadline:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                w, _ = get(c, "/")
            except OSError:
                time.sleep(0.05)
                continue
            if w not in conns:
                conns[w] = c
            else:
                held.append(c)  # kept open: the balance picks the others
        if len(conns) < workers:
            raise SystemExit(f"reached {len(conns)} of {workers} workers")
        t0 = time.monotonic()
        _, body = get(conns["1"], f"/pub?tag=x&n={n}")
        if body.strip() != f"published {n}":
            raise SystemExit(f"publish: {body.strip()}")
        while True:
            totals = [int(get(c, "/log")[1].rsplit("total ", 1)[1])
                      for c in conns.values()]
            if min(totals) >= n:
                break
            if time.monotonic() - t0 > 60:
                raise SystemExit(f"not delivered within 60 s: {totals}")
            time.sleep(0.01)
        return time.monotonic() - t0
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    rates = []
    for i in range(rounds):
        s = one_round(build, n, workers)
        rates.append(n / s)
        print(f"round {i + 1}: {n} messages to {workers} workers in {s:.3f} s: "
              f"{n / s:,.0f} messages/s, {workers * n / s:,.0f} deliveries/s")
    med = statistics.median(rates)
    print(f"median: {med:,.0f} messages/s, {workers * med:,.0f} deliveries/s "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f} messages/s)")


if __name__ == "__main__":
    main()
