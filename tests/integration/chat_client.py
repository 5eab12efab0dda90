#!/usr/bin/python3
"""Members of plugins/chat's room for test_chat.c, on Debian's
python3-websockets.

    chat_client.py SCENARIO PORT [ARG...]

Each scenario prints what it saw and exits 0 when the room behaved, or
prints the reason and exits 1. Every wait has a deadline; none measures a
time.
"""
import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.request

import websockets

T = 20  # seconds: the deadline of any single wait
ATTEMPTS = 40  # connections tried to find a member on each worker
WELCOME = re.compile(r"^\* (\S+) on worker (\d+) generation (\d+)$")


def fail(msg):
    print("FAIL:", msg, flush=True)
    os._exit(1)  # now: not after closing every socket politely


class Member:
    """One WebSocket in the room, reading every line into self.lines."""

    def __init__(self, ws, name, worker, generation):
        self.ws, self.name = ws, name
        self.worker, self.generation = worker, generation
        self.lines = []
        self.task = asyncio.create_task(self._read())

    async def _read(self):
        try:
            async for msg in self.ws:
                self.lines.append(msg)
        except websockets.ConnectionClosed:
            pass

    def last(self, n=5):
        return [x if len(x) < 60 else x[:60] + "..." for x in self.lines[-n:]]

    def __repr__(self):
        return f"{self.name}@w{self.worker}g{self.generation}"

    async def wait(self, pred, what):
        deadline = time.monotonic() + T
        while not pred(self.lines):
            if self.task.done():
                fail(f"{self}: closed ({self.ws.close_code}) while waiting "
                     f"for {what}; saw {self.last()}")
            if time.monotonic() > deadline:
                fail(f"{self}: no {what} within {T} s; saw {self.last()}")
            await asyncio.sleep(0.01)

    async def wait_line(self, line, origin=""):
        await self.wait(lambda lines: line in lines, repr(line) + origin)

    async def closed(self, code):
        """Waits for the server's close, which must have `code`."""
        try:
            await asyncio.wait_for(asyncio.shield(self.task), T)
        except asyncio.TimeoutError:
            fail(f"{self}: not closed within {T} s (want {code}); saw "
                 f"{self.last(3)}")
        if self.ws.close_code != code:
            fail(f"{self}: closed with {self.ws.close_code}, want {code}")

    async def close(self):
        await self.ws.close()
        await self.task


async def join(port, name, **kw):
    """A member, or None when the server refused it (a stopping worker)."""
    try:
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws?name={name}", compression=None,
            open_timeout=T, close_timeout=T, max_size=None, **kw)
    except websockets.InvalidStatusCode as e:
        print(f"{name}: refused {e.status_code}")
        return None
    except (OSError, websockets.InvalidHandshake) as e:
        print(f"{name}: {e!r}")
        return None
    try:
        first = await asyncio.wait_for(ws.recv(), T)
    except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
        print(f"{name}: no welcome: {e!r}")
        await ws.close()
        return None
    m = WELCOME.match(first)
    if m is None or m.group(1) != name:
        fail(f"{name}: first line {first!r}, want '* {name} on worker W "
             "generation G'")
    return Member(ws, name, int(m.group(2)), int(m.group(3)))


async def gather(port, prefix, workers, each, generation=None):
    """Joins until `each` members are on every worker 1..workers (of
    `generation`, if given). The extra members stay until then: mchost
    gives a new connection to the worker that holds fewer. Bounded
    attempts."""
    kept, extra, per = [], [], {}
    for i in range(ATTEMPTS):
        m = await join(port, f"{prefix}{i}")
        if m is None:
            await asyncio.sleep(0.05)
            continue
        if ((generation is None or m.generation == generation) and
                per.get(m.worker, 0) < each and m.worker <= workers):
            per[m.worker] = per.get(m.worker, 0) + 1
            kept.append(m)
        else:
            extra.append(m)
        if all(per.get(w, 0) >= each for w in range(1, workers + 1)):
            print(f"members {kept} after {i + 1} connections")
            for m in extra:
                await m.close()
            return kept
    fail(f"after {ATTEMPTS} connections, members per worker: {per} "
         f"(want {each} on each of {workers}, generation {generation})")


async def everyone_hears(members, sender, text):
    await sender.ws.send(text)
    line = f"{sender.name}: {text}"
    for m in members:
        await m.wait_line(line, f" (sent to {sender})")
    print(f"ok {line!r} from worker {sender.worker} reached "
          f"{sorted(set(m.worker for m in members))}, its sender too")


async def ready(members):
    """Each member hears its own join, and every later member's: the room
    reaches all of them from here on."""
    for i, m in enumerate(members):
        for later in members[i:]:
            await m.wait_line(f"{later.name} joined",
                              " (its own)" if later is m else
                              f" (published by worker {later.worker})")


async def same_order(members, a, b, n):
    mine = {a.name: [f"{a.name}: line {i}" for i in range(n)],
            b.name: [f"{b.name}: line {i}" for i in range(n)]}
    wanted = set(mine[a.name]) | set(mine[b.name])

    async def send_all(s):
        for i in range(n):
            await s.ws.send(f"line {i}")

    await asyncio.gather(send_all(a), send_all(b))
    seqs = []
    for m in members:
        await m.wait(lambda lines: len(wanted.intersection(lines)) == 2 * n,
                     f"all {2 * n} lines")
        seqs.append([x for x in m.lines if x in wanted])
    for m, seq in zip(members, seqs):
        if len(seq) != 2 * n:
            fail(f"{m}: {len(seq)} lines for {2 * n} sent (duplicates)")
        for s in (a, b):
            if [x for x in seq if x.startswith(s.name + ":")] != mine[s.name]:
                fail(f"{m}: {s}'s lines out of the order sent")
        if seq != seqs[0]:
            at = next(i for i, (x, y) in enumerate(zip(seq, seqs[0]))
                      if x != y)
            fail(f"{m} and {members[0]} saw different orders from line "
                 f"{at}: {seq[at:at + 3]} / {seqs[0][at:at + 3]}")
    print(f"ok {len(members)} members on workers "
          f"{sorted(set(m.worker for m in members))} saw the {2 * n} lines "
          f"of two concurrent senders in one order")


def messages_total(admin):
    """mchost_messages_total from the admin /metrics (every label set)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics",
                                timeout=T) as r:
        page = r.read().decode()
    values = [float(l.split()[-1]) for l in page.splitlines()
              if re.match(r"mchost_messages_total(\{| )", l)]
    if not values:
        fail("no mchost_messages_total in /metrics")
    if not re.search(r"^mchost_messages_dropped_total(\{| )", page, re.M):
        fail("no mchost_messages_dropped_total in /metrics")
    return sum(values)


async def cross(port, admin=None):
    n = 100
    before = messages_total(admin) if admin else 0
    members = await gather(port, "m", 2, 2)
    await ready(members)
    a = next(m for m in members if m.worker == 1)
    b = next(m for m in members if m.worker == 2)
    await everyone_hears(members, a, "hello from worker 1")
    await everyone_hears(members, b, "hello from worker 2")
    await same_order(members, a, b, n)
    if admin:
        # at least: the 4 joins, 2 hellos and 2n lines of the members kept
        want = before + 4 + 2 + 2 * n
        deadline = time.monotonic() + T
        while (got := messages_total(admin)) < want:
            if time.monotonic() > deadline:
                fail(f"mchost_messages_total went from {before} to {got}, "
                     f"want at least {want}")
            await asyncio.sleep(0.05)
        print(f"ok mchost_messages_total went from {before} to {got}")
    for m in members:
        await m.close()


async def reload(port, master):
    old = await gather(port, "old", 2, 1, generation=1)
    await ready(old)
    os.kill(int(master), signal.SIGHUP)
    for m in old:
        await m.wait(lambda lines: "* server restarting: reconnect" in lines,
                     "'* server restarting: reconnect'")
        await m.closed(1001)
    print(f"ok {old} got '* server restarting: reconnect' and 1001")
    new = await gather(port, "new", 2, 1, generation=2)
    await ready(new)
    a = next(m for m in new if m.worker == 1)
    b = next(m for m in new if m.worker == 2)
    await everyone_hears(new, a, "after the reload, from worker 1")
    await everyone_hears(new, b, "after the reload, from worker 2")
    for m in new:
        await m.close()


async def expect_refused(port, query, status):
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws{query}",
                                      open_timeout=T):
            fail(f"/ws{query} was accepted")
    except websockets.InvalidStatusCode as e:
        if e.status_code != status:
            fail(f"/ws{query}: {e.status_code}, want {status}")


async def rules(port):
    for query in ["", "?name=", "?name=a%20b", "?name=" + "n" * 33]:
        await expect_refused(port, query, 400)
    print("ok names refused with 400")
    m = await gather(port, "r", 1, 1)
    m = m[0]
    await m.wait_line(f"{m.name} joined")
    for sent, back in [(b"bin", "* not sent: send text"),
                       ("a\nb", "* not sent: a line holds no control "
                                 "characters"),
                       ("x" * 1000, f"{m.name}: " + "x" * 1000)]:
        await m.ws.send(sent)
        await m.wait_line(back)
    print("ok binary and control characters refused, 1000 bytes relayed")
    await m.ws.send("y" * 1001)
    await m.closed(1009)
    print("ok 1001 bytes closed with 1009")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/who",
                                timeout=T) as r:
        who = json.load(r)
    if (sorted(who) != ["generation", "members", "worker"] or
            not all(isinstance(v, int) for v in who.values())):
        fail(f"/who: {who}")
    print(f"ok /who: {who}")


async def slow(port, n=10000):
    # A member that reads nothing for a while: the library stops reading
    # its socket once one message waits (max_queue=1), and the socket takes
    # little. n lines of 1000 bytes are far more than the kernel's buffers
    # (4 MiB at most by default) and MC_QUEUE_HIGH hold.
    n = int(n)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(port)))
    lazy = await join(port, "lazy", sock=sock, max_queue=1)
    talker = await join(port, "talker")
    if lazy is None or talker is None:
        fail("lazy or talker could not join")
    lazy.task.cancel()
    await talker.wait_line("talker joined")
    sent = [f"{i:05d}" + "z" * 995 for i in range(n)]
    for i, line in enumerate(sent):
        await talker.ws.send(line)
        if i % 50 == 49:  # as fast as the room relays, no faster
            await talker.wait_line(f"talker: {line}")
    await talker.wait_line(f"talker: {sent[-1]}")
    print(f"ok talker got its {n} lines while lazy read nothing")
    # lazy reads now: a prefix of the lines, in order, then 1008
    got = []
    try:
        while True:
            msg = await asyncio.wait_for(lazy.ws.recv(), T)
            if msg.startswith("talker: "):
                got.append(msg[len("talker: "):])
    except websockets.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        fail(f"lazy: nothing for {T} s after {len(got)} lines, no close")
    if got != sent[:len(got)]:
        at = next(i for i, (x, y) in enumerate(zip(got, sent)) if x != y)
        fail(f"lazy: line {at} is {got[at][:5]}, want {sent[at][:5]}: lines "
             "were skipped, not the member closed")
    if len(got) == n:
        fail(f"lazy got all {n} lines: the buffers held them, nothing was "
             "tested")
    if lazy.ws.close_code != 1008 or lazy.ws.close_reason != "too slow":
        fail(f"lazy: closed {lazy.ws.close_code} {lazy.ws.close_reason!r}, "
             "want 1008 'too slow'")
    await talker.wait_line("lazy left")
    print(f"ok lazy got the first {len(got)} lines, then 1008 'too slow'; "
          "the room heard 'lazy left'")
    await talker.close()


SCENARIOS = {
    "cross": cross,
    "reload": reload,
    "rules": rules,
    "slow": slow,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in SCENARIOS:
        fail(f"usage: {sys.argv[0]} {'|'.join(SCENARIOS)} PORT [ARG...]")
    asyncio.run(SCENARIOS[sys.argv[1]](*sys.argv[2:]))
