#!/usr/bin/env python3
"""Soak: load against mchost while its plugin crashes and reloads.

Runs mchost (2 workers) with the crash fixture, and for --seconds keeps
several clients busy (keep-alive clients, and clients that open a new
connection per request), while a trigger sends a crashing request every few
seconds and a SIGHUP (zero-downtime reload) every few seconds. It reports
requests sent, answered, failed, and 500s; it fails on any connection error,
any lost request, any 500 that was not a triggered crash, or any other
status. Every process it starts is stopped by PID (process group).
"""
import argparse, os, re, signal, socket, subprocess, sys, tempfile, threading, time

def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--mchost", required=True)
    p.add_argument("--plugin", required=True, help="tests/plugins crash.so")
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--keepalive-clients", type=int, default=4)
    p.add_argument("--fresh-clients", type=int, default=2)
    p.add_argument("--crash-every", type=float, default=3.0)
    p.add_argument("--reload-every", type=float, default=5.0)
    return p.parse_args()

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = self.answered = self.failed = self.crash_500 = 0
        self.bad = []          # (what, detail), kept short
    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)
    def problem(self, what, detail):
        with self.lock:
            self.failed += 1
            if len(self.bad) < 20:
                self.bad.append((what, detail))

def read_response(sock, buf):
    """Reads one response from sock (buf: leftover bytes). Returns
    (status, close, leftover)."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed before a response")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        k = k.strip().lower(); v = v.strip().lower()
        if k == b"content-length": length = int(v)
        if k == b"connection" and v == b"close": close = True
    while len(rest) < length:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed inside a body")
        rest += d
    return status, close, rest[length:]

def client(port, stop, stats, keepalive):
    sock, buf = None, b""
    while not stop.is_set():
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                buf = b""
            sock.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n" +
                         (b"" if keepalive else b"Connection: close\r\n") + b"\r\n")
            stats.add(sent=1)
            status, close, buf = read_response(sock, buf)
            stats.add(answered=1)
            if status != 200:
                stats.problem("status", status)
            if close or not keepalive:
                sock.close(); sock = None
        except Exception as e:
            stats.problem("connection", repr(e))
            if sock: sock.close()
            sock = None
    if sock: sock.close()

def trigger(port, pid, stop, stats, args):
    next_crash = time.monotonic() + args.crash_every
    next_reload = time.monotonic() + args.reload_every
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_crash:
            next_crash = now + args.crash_every
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(b"GET /segv HTTP/1.1\r\nHost: soak\r\n\r\n")
                stats.add(sent=1)
                status, _, _ = read_response(s, b"")
                s.close()
                stats.add(answered=1)
                if status == 500: stats.add(crash_500=1)
                else: stats.problem("crash status", status)
            except Exception as e:
                stats.problem("crash connection", repr(e))
        if now >= next_reload:
            next_reload = now + args.reload_every
            os.kill(pid, signal.SIGHUP)
        time.sleep(0.05)

def main():
    args = parse_args()
    log = tempfile.NamedTemporaryFile(prefix="mchost-soak-", suffix=".log", delete=False)
    proc = subprocess.Popen([args.mchost, "--plugin", args.plugin, "--workers", "2",
                             "--host", "127.0.0.1", "--port", "0"],
                            stdout=log, stderr=log, start_new_session=True)
    try:
        port = None
        for _ in range(100):
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", open(log.name, "rb").read())
            if m: port = int(m.group(1)); break
            time.sleep(0.05)
        if port is None:
            print("soak: mchost did not start; log:", open(log.name).read()); return 1
        time.sleep(0.3)
        stats, stop = Stats(), threading.Event()
        threads = [threading.Thread(target=client, args=(port, stop, stats, True))
                   for _ in range(args.keepalive_clients)]
        threads += [threading.Thread(target=client, args=(port, stop, stats, False))
                    for _ in range(args.fresh_clients)]
        threads.append(threading.Thread(target=trigger, args=(port, proc.pid, stop, stats, args)))
        for t in threads: t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads: t.join()
        text = open(log.name, errors="replace").read()
        reloads = text.count("reloaded: generation")
        crashes = text.count("plugin crashed:")
        lost = stats.sent - stats.answered - stats.failed
        print(f"soak: {args.seconds:.0f} s, {stats.sent} requests sent, {stats.answered} answered, "
              f"{stats.failed} failed, {lost} lost; {stats.crash_500} crashes answered 500, "
              f"{crashes} crashes logged, {reloads} reloads")
        for what, detail in stats.bad:
            print(f"  {what}: {detail}")
        ok = stats.failed == 0 and lost == 0 and stats.crash_500 > 0 and reloads > 0
        print("soak: PASS" if ok else f"soak: FAIL (log: {log.name})")
        return 0 if ok else 1
    finally:
        try: os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError: pass
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL); proc.wait()

if __name__ == "__main__":
    sys.exit(main())
