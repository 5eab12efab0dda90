#!/usr/bin/env python3
"""Python clients of plugins/notes for test_notes.c (standard library only).

  notes_client.py errors PORT        each bad request and what it got back,
                                     one line each: "NAME STATUS ERROR-JSON"
  notes_client.py concurrent PORT N  N POSTs from 16 threads at once; prints
                                     "created C distinct D listed L" (201s,
                                     distinct ids among them, notes listed
                                     by GET /notes after)
  notes_client.py sse PORT TEXT      reads GET /events with http.client;
                                     once it is open, curl (another client)
                                     POSTs TEXT; prints "event ID JSON" for
                                     the event that carries TEXT
  notes_client.py behind PORT DB TEXT
                                     the same, but the note is written into
                                     the SQLite file DB by this script, as
                                     another program would: no POST, so no
                                     message says "look now"
  notes_client.py reload PORT MASTER TEXT
                                     reads GET /events as an EventSource
                                     does; after its first note, reloads
                                     mchost (SIGHUP to MASTER), reads the
                                     feed to its clean end and prints
                                     "ended clean retry R after T ms" (R:
                                     the last retry value); then comes back
                                     after R ms with Last-Event-ID, POSTs
                                     TEXT and prints "event ID JSON" for it
Exit status 0, or 1 with a message on stderr.
"""
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

TIMEOUT = 20


def request(port, method, path, body=None, ctype="application/json"):
    """(status, headers, body bytes) of one request on its own connection."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=body, method=method)
    if body is not None and ctype is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def errors(port):
    cases = [
        ("not-json", "POST", "/notes", b"{not json", "application/json"),
        ("no-text", "POST", "/notes", b'{"title":"x"}', "application/json"),
        ("text-not-string", "POST", "/notes", b'{"text":42}',
         "application/json"),
        ("empty-text", "POST", "/notes", b'{"text":""}', "application/json"),
        ("too-long", "POST", "/notes",
         json.dumps({"text": "x" * 1001}).encode(), "application/json"),
        ("array", "POST", "/notes", b'["text"]', "application/json"),
        ("form", "POST", "/notes", b"text=hi",
         "application/x-www-form-urlencoded"),
        ("bad-id", "GET", "/notes/abc", None, None),
        ("missing", "GET", "/notes/999999", None, None),
        ("delete-missing", "DELETE", "/notes/999999", None, None),
        ("put", "PUT", "/notes", b"{}", "application/json"),
    ]
    for name, method, path, body, ctype in cases:
        status, headers, data = request(port, method, path, body, ctype)
        try:
            err = json.loads(data)["error"]
        except (ValueError, KeyError, TypeError):
            err = None
        allow = headers.get("Allow", "")
        print(f"{name} {status} {'json' if err else 'no-json'} "
              f"allow={allow.replace(' ', '')}")


def concurrent(port, n):
    results = []
    lock = threading.Lock()

    def post(i):
        status, headers, data = request(
            port, "POST", "/notes", json.dumps({"text": f"note {i}"}).encode())
        note = json.loads(data) if status == 201 else None
        with lock:
            results.append((status, note))

    todo = list(range(n))
    threads = []
    for _ in range(16):
        def worker():
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                post(i)
        t = threading.Thread(target=worker)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    created = [note for status, note in results if status == 201]
    statuses = sorted({status for status, _ in results})
    status, _, data = request(port, "GET", "/notes")
    listed = json.loads(data) if status == 200 else []
    print(f"created {len(created)} distinct {len({n['id'] for n in created})}"
          f" listed {len(listed)} statuses {statuses}")


def open_feed(port, last_id=None):
    """GET /events, once its first line (retry:) came: (response, retry)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    headers = {"Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    conn.request("GET", "/events", headers=headers)
    resp = conn.getresponse()
    if resp.status != 200 or not resp.getheader(
            "Content-Type", "").startswith("text/event-stream"):
        sys.exit(f"GET /events: {resp.status} {resp.getheader('Content-Type')}")
    line = resp.readline()
    if not line.startswith(b"retry:"):
        sys.exit(f"the stream began with {line!r}")
    return resp, int(line[6:])


def post(port, text):
    done = subprocess.run(
        ["curl", "-sS", "--max-time", str(TIMEOUT), "-o", "/dev/null",
         "-w", "%{http_code}", "-H", "Content-Type: application/json",
         "-d", json.dumps({"text": text}),
         f"http://127.0.0.1:{port}/notes"],
        capture_output=True, text=True, timeout=TIMEOUT + 5)
    if done.stdout != "201":
        sys.exit(f"curl POST: {done.stdout} {done.stderr}")


def events(resp):
    """The feed's events as dicts, as an EventSource parses them; a retry
    field comes as its own event. Ends where the stream ends cleanly
    (http.client raises IncompleteRead on a cut chunked stream)."""
    event = {}
    while True:
        line = resp.readline()
        if not line:
            return
        line = line.decode().rstrip("\n")
        if line == "":
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            event[key] = value.lstrip(" ")


def wait_note(resp, text):
    for event in events(resp):
        if "data" in event and json.loads(event["data"])["text"] == text:
            print(f"event {event.get('id')} {event['data']}")
            return
    sys.exit("the stream ended before the note came")


def sse(port, text):
    resp, _ = open_feed(port)
    post(port, text)
    wait_note(resp, text)


def behind(port, db, text):
    resp, _ = open_feed(port)
    with sqlite3.connect(db, timeout=TIMEOUT) as conn:
        conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    wait_note(resp, text)


def reload(port, master, text):
    resp, retry = open_feed(port)
    post(port, "before")
    last_id = None
    for event in events(resp):
        if "data" in event:
            last_id = event.get("id", last_id)
            break
    os.kill(master, signal.SIGHUP)
    t0 = time.monotonic()
    for event in events(resp):
        retry = int(event.get("retry", retry))
        last_id = event.get("id", last_id)
    ms = (time.monotonic() - t0) * 1000
    print(f"ended clean retry {retry} after {ms:.0f} ms", flush=True)
    time.sleep(retry / 1000)
    resp, _ = open_feed(port, last_id)
    post(port, text)
    wait_note(resp, text)


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "errors":
        errors(port)
    elif cmd == "concurrent":
        concurrent(port, int(sys.argv[3]))
    elif cmd == "sse":
        sse(port, sys.argv[3])
    elif cmd == "behind":
        behind(port, sys.argv[3], sys.argv[4])
    elif cmd == "reload":
        reload(port, int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
