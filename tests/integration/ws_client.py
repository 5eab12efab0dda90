#!/usr/bin/python3
"""WebSocket clients for test_websocket.c, on Debian's python3-websockets
(and raw sockets where a well-behaved library cannot misbehave).

    ws_client.py SCENARIO PORT [ARG...]

Each scenario prints what it saw and exits 0 when the server behaved, or
prints the reason and exits 1. Every wait has a deadline.
"""
import asyncio
import base64
import os
import resource
import signal
import socket
import struct
import sys
import time

import websockets

T = 10  # seconds: the deadline of any single wait


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def url(port, path="/ws"):
    return f"ws://127.0.0.1:{port}{path}"


def connect(port, path="/ws", **kw):
    # No permessage-deflate offer: mchost negotiates no extension anyway.
    return websockets.connect(url(port, path), compression=None,
                              open_timeout=T, close_timeout=T, **kw)


async def expect_close(ws, code, reason=None):
    try:
        msg = await asyncio.wait_for(ws.recv(), T)
        fail(f"expected close {code}, got a message {msg!r:.60}")
    except websockets.ConnectionClosed as e:
        got = e.rcvd.code if e.rcvd else None
        why = e.rcvd.reason if e.rcvd else None
        if got != code or (reason is not None and why != reason):
            fail(f"expected close {code} {reason!r}, got {got} {why!r}")
        return why


async def echo(port, path="/ws"):
    async with connect(port, path) as ws:
        for msg in ["hello", "h\u00e9llo \U0001f600", "", "x" * 70000]:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), T)
            if got != msg:
                fail(f"text echo: sent {msg!r:.40}, got {got!r:.40}")
        for msg in [b"\x00\x01\xff", b"", os.urandom(200000)]:
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), T)
            if got != msg:
                fail(f"binary echo of {len(msg)} bytes: got {len(got)}")
        print("ok echo text and binary")
        # fragmented: one message in several frames, text and binary
        await ws.send(["frag", "men", "ted \u00e9"])
        if await asyncio.wait_for(ws.recv(), T) != "fragmented \u00e9":
            fail("fragmented text")
        await ws.send([b"ab", b"", b"cd" * 40000])
        if await asyncio.wait_for(ws.recv(), T) != b"ab" + b"cd" * 40000:
            fail("fragmented binary")
        print("ok fragmented")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, T)
        print("ok ping/pong")
        await ws.close(1000, "client done")
        if ws.close_rcvd is None or ws.close_rcvd.code != 1000:
            fail(f"close from the client: server answered {ws.close_rcvd}")
        print("ok client close echoed", ws.close_rcvd.code)


async def too_big(port, limit):
    limit = int(limit)
    async with connect(port, max_size=None) as ws:
        await ws.send("y" * limit)  # at the limit: fine
        if len(await asyncio.wait_for(ws.recv(), T)) != limit:
            fail("message at the limit not echoed")
        await ws.send("y" * (limit + 1))
        await expect_close(ws, 1009)
    print("ok whole message over the limit: 1009")
    async with connect(port, max_size=None) as ws:
        await ws.send([b"z" * (limit // 2)] * 3)  # fragments add up
        await expect_close(ws, 1009)
    print("ok fragmented message over the limit: 1009")


async def server_close(port):
    async with connect(port) as ws:
        await ws.send("close:4001:server says bye")
        await expect_close(ws, 4001, "server says bye")
    print("ok server close 4001")
    async with connect(port) as ws:
        await ws.send("close:1004:reserved")  # refused by mc_ws_close
        if await asyncio.wait_for(ws.recv(), T) != "close refused -22":
            fail("mc_ws_close(1004) was not refused with -EINVAL")
    print("ok bad close code refused")


async def crash(port):
    async with connect(port) as ws:
        await ws.send("before")
        await asyncio.wait_for(ws.recv(), T)
        await ws.send("crash")
        await expect_close(ws, 1011)
    print("ok crash: 1011")
    deadline = time.monotonic() + T
    while True:  # a replacement worker serves
        try:
            async with connect(port) as ws:
                await ws.send("after")
                if await asyncio.wait_for(ws.recv(), T) == "after":
                    break
        except (OSError, websockets.WebSocketException):
            pass
        if time.monotonic() > deadline:
            fail("no echo after the crash")
        await asyncio.sleep(0.05)
    print("ok served after the crash")


async def reload(port, master, n):
    n = int(n)
    conns = [await connect(port) for _ in range(n)]
    for i, ws in enumerate(conns):
        await ws.send(f"m{i}")
        if await asyncio.wait_for(ws.recv(), T) != f"m{i}":
            fail("echo before the reload")
    os.kill(int(master), signal.SIGHUP)
    for ws in conns:
        if await asyncio.wait_for(ws.recv(), 3 * T) != "bye":
            fail("no 'bye' from the plugin before the close")
        await expect_close(ws, 1001)
    print(f"ok {n} connections got 'bye' and 1001")
    async with connect(port) as ws:
        await ws.send("new")
        if await asyncio.wait_for(ws.recv(), T) != "new":
            fail("no echo after the reload")
    print("ok served after the reload")


async def many(port, n):
    n = int(n)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
    start = time.monotonic()
    conns = await asyncio.gather(*[connect(port) for _ in range(n)])
    await asyncio.gather(*[ws.send(f"c{i}") for i, ws in enumerate(conns)])
    got = await asyncio.gather(*[asyncio.wait_for(ws.recv(), 3 * T)
                                 for ws in conns])
    if got != [f"c{i}" for i in range(n)]:
        fail("an echo went to the wrong connection")
    await asyncio.gather(*[ws.close() for ws in conns])
    codes = [ws.close_rcvd.code if ws.close_rcvd else None for ws in conns]
    if codes != [1000] * n:
        fail(f"close codes: {set(codes)}")
    print(f"ok {n} connections open at once, echoed and closed in "
          f"{time.monotonic() - start:.1f} s")


async def flood(port, n, size, slow):
    n, size = int(n), int(size)
    async with connect(port, max_size=None) as ws:
        await ws.send(f"flood:{n}:{size}")
        got = 0
        while True:
            # 12.8 MB through a reader that pauses: on a loaded machine
            # (ASan, 2 CPUs) one wait may take longer than T; a stall
            # still fails.
            msg = await asyncio.wait_for(ws.recv(), 3 * T)
            if isinstance(msg, str):
                break
            if len(msg) != size:
                fail(f"flood message of {len(msg)} bytes")
            got += 1
            if slow == "slow" and got % 16 == 0:
                await asyncio.sleep(0.01)
        if got != n:
            fail(f"flood: {got} of {n} messages")
        eagains = int(msg.split()[2])
        if eagains == 0:
            fail("mc_ws_send() never said -EAGAIN")
        print(f"ok {n} messages of {size} bytes through backpressure "
              f"({eagains} -EAGAIN), {slow} reader")


async def later(port):
    async with connect(port, "/later") as ws:
        await ws.send("deferred")
        if await asyncio.wait_for(ws.recv(), T) != "deferred":
            fail("echo after a deferred accept")
    async with connect(port, "/send-first") as ws:
        if await asyncio.wait_for(ws.recv(), T) != "hello":
            fail("message sent right after accepting")
    print("ok deferred accept, send at once")


async def idle_alive(port, seconds):
    # The library answers the server's pings: a silent client stays open.
    async with connect(port, ping_interval=None) as ws:
        await asyncio.sleep(float(seconds))
        await ws.send("still here")
        if await asyncio.wait_for(ws.recv(), T) != "still here":
            fail("the idle connection was closed")
    print("ok a silent client that answers pings stays open")


# ---- raw sockets: clients that misbehave ----

def raw_open(port, path="/ws", extra=b""):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=T)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n" + extra)
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            fail("no handshake answer")
        head += b
    if not head.startswith(b"HTTP/1.1 101 "):
        fail(f"handshake: {head[:40]!r}")
    return s


def masked(opcode, payload, fin=True):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def read_frames(s, until_close=True):
    """Frames until the close frame (or EOF): [(opcode, payload)]."""
    buf, frames = b"", []
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        while len(buf) >= 2:
            n, off = buf[1] & 0x7f, 2
            if n == 126:
                n, off = struct.unpack(">H", buf[2:4])[0], 4
            elif n == 127:
                n, off = struct.unpack(">Q", buf[2:10])[0], 10
            if len(buf) < off + n:
                break
            frames.append((buf[0] & 0x0f, buf[off:off + n]))
            buf = buf[off + n:]
            if frames[-1][0] == 8 and until_close:
                return frames
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return frames
        if not b:
            return frames
        buf += b
    return frames


def close_code(frames):
    for op, p in frames:
        if op == 8:
            return struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 1005
    return None


def frames_in_handshake(port):
    # Frames sent in the same packet as the upgrade request are the first
    # frames, not a next HTTP request.
    s = raw_open(port, extra=masked(1, b"early") + masked(9, b"p"))
    got, buf = [], b""
    deadline = time.monotonic() + T
    while len(got) < 2 and time.monotonic() < deadline:
        buf += s.recv(65536)
        while len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7f):
            n = buf[1] & 0x7f
            got.append((buf[0] & 0x0f, buf[2:2 + n]))
            buf = buf[2 + n:]
    if sorted(got) != [(1, b"early"), (10, b"p")]:
        fail(f"frames in the handshake's packet: {got}")
    s.close()
    print("ok frames right after the handshake")


def protocol_errors(port):
    cases = [
        ("unmasked", bytes([0x81, 2]) + b"hi", 1002),
        ("rsv1", bytes([0xc1]) + masked(1, b"x")[1:], 1002),
        ("bad utf-8", masked(1, b"\xc0\x80"), 1007),
        ("continuation alone", masked(0, b"x"), 1002),
        ("big ping", masked(9, b"p" * 126), 1002),
    ]
    for name, data, want in cases:
        s = raw_open(port)
        s.sendall(data)
        got = close_code(read_frames(s))
        if got != want:
            fail(f"{name}: close {got}, want {want}")
        s.close()
    print("ok protocol errors closed with 1002/1007")


def idle_dead(port):
    # A client that answers nothing: pinged at half the idle timeout, then
    # closed with 1001 at the timeout.
    s = raw_open(port)
    start = time.monotonic()
    frames = read_frames(s)
    took = time.monotonic() - start
    ops = [op for op, _ in frames]
    if 9 not in ops or close_code(frames) != 1001:
        fail(f"idle client: frames {ops}, close {close_code(frames)}")
    print(f"ok silent client pinged then closed (1001) after {took:.1f} s")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def never_reads(port, worker, idle_s):
    # Sends echo requests and never reads an answer. The server must stop
    # reading it (its memory stays bounded) and end the connection.
    s = raw_open(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    before = rss_kib(worker)
    msg = masked(2, os.urandom(60000))
    sent, peak = 0, before
    s.settimeout(0.5)
    end = time.monotonic() + T
    while time.monotonic() < end:
        try:
            s.sendall(msg)
            sent += len(msg)
        except socket.timeout:
            break  # the server stopped reading
        except (BrokenPipeError, ConnectionResetError):
            break
        peak = max(peak, rss_kib(worker))
    peak = max(peak, rss_kib(worker))
    if sent >= 200 * 1024 * 1024:
        fail(f"the server kept reading: {sent} bytes")
    grew = peak - before
    print(f"sent {sent >> 10} KiB before the server stopped reading; "
          f"worker RSS grew {grew} KiB")
    if grew > 16 * 1024:
        fail(f"worker RSS grew {grew} KiB")
    # Still not reading: the server must end the connection by itself.
    start = time.monotonic()
    deadline = start + float(idle_s) + 5 + T
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            s.sendall(msg)
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            print(f"ok connection ended after {time.monotonic() - start:.1f}"
                  " s of not reading")
            return
    fail("the server never ended a client that does not read")


SCENARIOS = {
    "echo": lambda a: asyncio.run(echo(*a)),
    "too-big": lambda a: asyncio.run(too_big(*a)),
    "server-close": lambda a: asyncio.run(server_close(*a)),
    "crash": lambda a: asyncio.run(crash(*a)),
    "reload": lambda a: asyncio.run(reload(*a)),
    "many": lambda a: asyncio.run(many(*a)),
    "flood": lambda a: asyncio.run(flood(*a)),
    "later": lambda a: asyncio.run(later(*a)),
    "idle-alive": lambda a: asyncio.run(idle_alive(*a)),
    "frames-in-handshake": lambda a: frames_in_handshake(*a),
    "protocol-errors": lambda a: protocol_errors(*a),
    "idle-dead": lambda a: idle_dead(*a),
    "never-reads": lambda a: never_reads(*a),
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in SCENARIOS:
        fail(f"usage: {sys.argv[0]} {'|'.join(SCENARIOS)} PORT [ARG...]")
    SCENARIOS[sys.argv[1]](sys.argv[2:])
