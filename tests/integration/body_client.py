#!/usr/bin/env python3
"""body_client.py - a real HTTP client for the request body tests
(test_upload.c): it sends bodies of a given size and speed and reports
what the server did, one line on stdout.

  body_client.py big PORT PATH BYTES PIECE
      POST BYTES (Content-Length) in PIECE-byte writes as fast as the
      socket takes them; checks the answer "<bytes> <sha256>" of the upload
      plugin. Prints "STATUS OK|BAD SECONDS".
  body_client.py rate PORT PATH BYTES RATE [head]
      POST BYTES at RATE bytes/s (a piece every 50 ms), or with "head"
      send the head itself (padded to 2 kB) that slowly; stops when the server answers or
      closes, or after 15 s. Prints "STATUS SENT SECONDS" (STATUS 0: no
      answer).
  body_client.py hold PORT PATH BYTES SECONDS
      POST BYTES with a non-blocking socket and measure how much the
      server let in during the first SECONDS (it holds the body), then
      send the rest. Prints "STATUS LENGTH HELD_BYTES".
"""
import hashlib
import select
import socket
import sys
import time


def data_block(n):
    # Not compressible, not all zeros: a reordered or dropped piece shows.
    seed = hashlib.sha256(b"mchost").digest()
    out = bytearray()
    while len(out) < n:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:n])


def read_head(s, buf):
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.partition(b"\r\n\r\n")[::2]


def read_response(s, timeout):
    s.settimeout(timeout)
    try:
        head, body = read_head(s, b"")
        while head.startswith(b"HTTP/1.1 100"):
            head, body = read_head(s, body)
        if not head:
            return 0, b""
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(head.split()[1]), body
    except (socket.timeout, ConnectionError):
        return 0, b""


def head(path, length, pad=0):
    return ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n%s\r\n"
            % (path, length, "X-Pad: %s\r\n" % ("p" * pad) if pad else "")
            ).encode()


def big(port, path, total, piece):
    block = data_block(1 << 20)
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    s.sendall(head(path, total))
    h = hashlib.sha256()
    sent = 0
    while sent < total:
        off = sent % len(block)
        n = min(piece, total - sent, len(block) - off)
        view = block[off:off + n]
        s.sendall(view)
        h.update(view)
        sent += n
    status, body = read_response(s, 60)
    secs = time.monotonic() - t0
    want = ("%d %s\n" % (total, h.hexdigest())).encode()
    print(status, "OK" if body == want else "BAD", "%.2f" % secs)


def rate(port, path, total, bps, slow_head):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = head(path, total, 2000 if slow_head else 0) + b"x" * total
    if not slow_head:
        s.sendall(data[:len(head(path, total))])
        data = data[len(head(path, total)):]
    step = max(1, int(bps * 0.05))
    t0 = time.monotonic()
    sent = 0
    while sent < len(data) and time.monotonic() - t0 < 15:
        # Paced by the clock, not by sleeps: sent stays on bps * elapsed.
        due = int((time.monotonic() - t0) * bps) + step
        n = min(len(data) - sent, max(0, due - sent))
        if n > 0:
            try:
                s.sendall(data[sent:sent + n])
            except OSError:
                break
            sent += n
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            break
    secs = time.monotonic() - t0
    status, _ = read_response(s, 10)
    print(status, sent, "%.2f" % secs)


def hold(port, path, total, secs):
    block = data_block(1 << 20)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head(path, total))
    s.setblocking(False)
    sent = 0
    held = None
    t0 = time.monotonic()
    while sent < total:
        if held is None and time.monotonic() - t0 >= secs:
            held = sent
        off = sent % len(block)
        n = min(65536, total - sent, len(block) - off)
        try:
            sent += s.send(block[off:off + n])
        except BlockingIOError:
            select.select([], [s], [], 0.05)
    if held is None:
        held = sent
    s.setblocking(True)
    status, body = read_response(s, 60)
    length = body.split()[0].decode() if body else "-"
    print(status, length, held)


def main():
    mode, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "big":
        big(port, path, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "rate":
        rate(port, path, int(sys.argv[4]), int(sys.argv[5]),
             len(sys.argv) > 6 and sys.argv[6] == "head")
    elif mode == "hold":
        hold(port, path, int(sys.argv[4]), float(sys.argv[5]))


if __name__ == "__main__":
    main()
