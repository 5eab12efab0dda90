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
Exit status 0, or 1 with a message on stderr.
"""
import http.client
import json
import subprocess
import sys
import threading
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


def sse(port, text):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/events", headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    if resp.status != 200 or not resp.getheader(
            "Content-Type", "").startswith("text/event-stream"):
        sys.exit(f"GET /events: {resp.status} {resp.getheader('Content-Type')}")
    # The stream is open once its first line (retry:) came.
    line = resp.readline()
    if not line.startswith(b"retry:"):
        sys.exit(f"the stream began with {line!r}")
    post = subprocess.run(
        ["curl", "-sS", "--max-time", str(TIMEOUT), "-o", "/dev/null",
         "-w", "%{http_code}", "-H", "Content-Type: application/json",
         "-d", json.dumps({"text": text}),
         f"http://127.0.0.1:{port}/notes"],
        capture_output=True, text=True, timeout=TIMEOUT + 5)
    if post.stdout != "201":
        sys.exit(f"curl POST: {post.stdout} {post.stderr}")
    event = {}
    while True:
        line = resp.readline()
        if not line:
            sys.exit("the stream ended before the note came")
        line = line.decode().rstrip("\n")
        if line == "":
            if "data" in event and json.loads(event["data"])["text"] == text:
                print(f"event {event.get('id')} {event['data']}")
                return
            event = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            event[key] = value.lstrip(" ")


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "errors":
        errors(port)
    elif cmd == "concurrent":
        concurrent(port, int(sys.argv[3]))
    elif cmd == "sse":
        sse(port, sys.argv[3])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
