#!/usr/bin/env python3
"""tests/bench/capacity.py - how many connections mchost holds, and whether
slow clients crowd out a normal one; nginx side by side.

    make bench-capacity                  # installs, builds Release, runs this
    IDLE=5000 SLOW=4000 tests/bench/capacity.py   # smaller (build-release/)

(a) Idle keep-alive connections on 2 workers: as many as this process's
    open-file limit allows (IDLE, at most the hard limit less a margin), one
    request each, then held. Reports the workers' RSS and the machine's
    MemAvailable before and after, per connection.
(b) Slow clients against default options: SLOW connections (half send a
    head, half a body, one byte a second each) opened at RATE per second,
    while a normal client asks every 100 ms. Reports for how many seconds
    the normal client went unanswered or waited over 100 ms, and its
    latencies.

Everything goes to 127.0.0.1, every load is bounded in count and time, and
every server is stopped by its process group id (tests/bench/run's Procs).
Results: stdout, and tests/bench/results/<timestamp>/capacity.json.
"""

import errno
import importlib.machinery
import json
import os
import resource
import selectors
import socket
import sys
import multiprocessing
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The peers, their configuration and the process handling of `make bench`.
run = importlib.machinery.SourceFileLoader(
    "bench_run", os.path.join(HERE, "run")).load_module()

RATE = int(os.environ.get("RATE", "1000"))
TAIL_S = int(os.environ.get("TAIL", "10"))
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
SLOW_HEAD = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
# A body to a handler that reads it before it answers: mchost buffers it
# for mc_run(); nginx's /post-echo (tests/bench/nginx.conf.in) reads it.
SLOW_BODY = "POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"


def fd_budget():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard - 200


def mem_available_kb():
    for line in run.read("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


def workers_rss_kb(srv):
    return sum(run.rss_kb(p) or 0 for p in srv.workers())


def open_idle(port, n):
    """n keep-alive connections, one request answered on each; returns
    them (fewer if the server or the machine refused some)."""
    held = []
    for start in range(0, n, 500):
        batch = []
        for _ in range(min(500, n - start)):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(REQUEST)
                batch.append(s)
            except OSError as e:
                run.say(f"capacity: connection {len(held) + len(batch)}: {e}")
                return held + batch
        for s in batch:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
        held += batch
    return held


def idle_run(srv, n):
    time.sleep(0.5)
    rss0, avail0 = workers_rss_kb(srv), mem_available_kb()
    held = open_idle(srv.port, n)
    time.sleep(1.0)
    rss1, avail1 = workers_rss_kb(srv), mem_available_kb()
    alive = run.http_request(srv.port)[0] == 200
    for s in held:
        s.close()
    k = max(len(held), 1)
    return {"connections": len(held), "workers_rss_kb": [rss0, rss1],
            "rss_bytes_per_conn": round((rss1 - rss0) * 1024 / k),
            "mem_available_kb": [avail0, avail1],
            "machine_bytes_per_conn": round((avail0 - avail1) * 1024 / k),
            "still_answers": alive}


class Normal(multiprocessing.Process):
    """One request every 100 ms on a new connection; each second is marked
    bad when a request in it took over 100 ms or got no answer (1 s). A
    process of its own, so that the slow clients' loop here does not delay
    it; its results come back through a pipe."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.halt = port, multiprocessing.Event()
        self.rx, self.tx = multiprocessing.Pipe(duplex=False)

    def finish(self):
        self.halt.set()
        self.lat_ms, bad = self.rx.recv()
        self.bad = set(bad)
        self.join()

    def run(self):
        self.lat_ms, self.bad = [], set()
        t0 = time.monotonic()
        while not self.halt.is_set():
            start = time.monotonic()
            ok = False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    ok = s.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                pass
            ms = (time.monotonic() - start) * 1000
            self.lat_ms.append(ms if ok else None)
            if not ok or ms > 100:
                self.bad.add(int(start - t0))
            time.sleep(max(0.0, 0.1 - (time.monotonic() - start)))
        self.tx.send((self.lat_ms, sorted(self.bad)))


def slow_run(srv, n, body_path):
    """n slow clients opened at RATE/s, one byte a second each, then TAIL_S
    more seconds; the normal client asks throughout."""
    normal = Normal(srv.port)
    normal.start()
    slow_body = SLOW_BODY.format(body_path).encode()
    sel = selectors.DefaultSelector()
    live, opened, refused, cut = {}, 0, 0, 0
    t0 = time.monotonic()
    end_open = t0 + n / RATE
    next_tick = t0 + 1
    while True:
        now = time.monotonic()
        if now > end_open + TAIL_S:
            break
        due = min(n, int((now - t0) * RATE))
        while opened < due:
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", srv.port))
            except BlockingIOError:
                pass
            except OSError:
                refused += 1
                s.close()
                opened += 1
                continue
            first = SLOW_HEAD if opened % 2 == 0 else slow_body
            live[s] = first
            sel.register(s, selectors.EVENT_READ)
            opened += 1
        if now >= next_tick:
            next_tick += 1
            for s, first in list(live.items()):
                try:
                    s.send(first if first else b"x")
                    live[s] = None
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    sel.unregister(s)
                    s.close()
                    del live[s]
                    cut += 1
        for key, _ in sel.select(timeout=0.01):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError as e:
                data = b"" if e.errno != errno.EAGAIN else None
            if data is None:
                continue
            sel.unregister(s)
            s.close()
            live.pop(s, None)
            cut += 1
    normal.finish()
    held = len(live)
    for s in list(live):
        s.close()
    sel.close()
    answered = [x for x in normal.lat_ms if x is not None]
    answered.sort()
    pct = lambda p: round(answered[min(len(answered) - 1, int(p * len(answered)))], 1) if answered else None
    return {"slow_opened": opened, "refused": refused, "cut_by_server": cut,
            "still_held_at_end": held, "seconds": round(time.monotonic() - t0),
            "normal_requests": len(normal.lat_ms),
            "normal_unanswered": normal.lat_ms.count(None),
            "normal_bad_seconds": len(normal.bad),
            "normal_p50_ms": pct(0.5), "normal_p99_ms": pct(0.99),
            "normal_max_ms": round(answered[-1], 1) if answered else None}


def main():
    budget = fd_budget()
    idle_n = min(int(os.environ.get("IDLE", "100000")), budget)
    slow_n = min(int(os.environ.get("SLOW", "40000")), budget)
    if idle_n < int(os.environ.get("IDLE", "100000")) or slow_n < int(os.environ.get("SLOW", "40000")):
        print(f"note: this process may open {budget + 200} files (ulimit -Hn): "
              f"{idle_n} idle and {slow_n} slow connections, not the "
              f"100,000 and 20,000 + 20,000 the benchmark asks for")
    os.makedirs(os.path.join(run.OUT, "logs"), exist_ok=True)
    results = {"machine": {"nproc": os.cpu_count(), "kernel": os.uname().release,
                           "ulimit_hn": budget + 200}, "idle": {}, "slow": {}}
    for name in ("mchost", "nginx"):
        for part in ("idle", "slow"):
            srv = (run.start_mchost(name, "hello.so") if name == "mchost"
                   else run.start_nginx(worker_connections=max(idle_n, slow_n) + 1024))
            try:
                body_path = "/post-echo" if getattr(srv, "has_echo", False) else "/"
                results[part][name] = (idle_run(srv, idle_n) if part == "idle"
                                       else slow_run(srv, slow_n, body_path))
            finally:
                run.PROCS.stop(srv.proc)
            print(name, part, json.dumps(results[part][name]), flush=True)
    with open(os.path.join(run.OUT, "capacity.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    try:
        main()
    finally:
        run.PROCS.stop_all()
