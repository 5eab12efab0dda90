#!/usr/bin/env python3
"""A proxy's side of a connection, for test_client.c: sends a PROXY protocol
header (good, hostile or cut in pieces) and an HTTP request over a real
socket, one connection per case, and prints a line per case: the case,
a tab, and what the server answered (see one()). One process for many
cases: a Python start costs more than a case.

    proxy_client.py PORT CASE...
"""
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
REQ = b"GET /%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def v2(ver_cmd, fam, body):
    return SIG + bytes([ver_cmd, fam]) + struct.pack("!H", len(body)) + body


def tcp4(extra=b""):
    return (socket.inet_pton(socket.AF_INET, "192.0.2.7") +
            socket.inet_pton(socket.AF_INET, "10.0.0.1") +
            struct.pack("!HH", 5555, 80) + extra)


def tcp6():
    return (socket.inet_pton(socket.AF_INET6, "2001:db8::7") +
            socket.inet_pton(socket.AF_INET6, "::1") +
            struct.pack("!HH", 4711, 80))


SSL_TLV = bytes([0x20]) + struct.pack("!H", 5) + bytes([1, 0, 0, 0, 0])
NOOP_TLV = bytes([0x04]) + struct.pack("!H", 3) + b"\0\0\0"

CASES = {
    # answered: the client is the one the header names
    "v2-tcp4": v2(0x21, 0x11, tcp4(NOOP_TLV)),
    "v2-tcp6": v2(0x21, 0x21, tcp6()),
    "v2-local": v2(0x20, 0x00, b""),
    "v2-unix": v2(0x21, 0x31, bytes(216)),
    "v2-ssl": v2(0x21, 0x11, tcp4(SSL_TLV)),
    "v2-pieces": v2(0x21, 0x11, tcp4()),
    # refused: the connection closes and nothing reaches the plugin
    "v2-family-mismatch": v2(0x21, 0x21, tcp4()),
    "v2-tlv-overrun": v2(0x21, 0x11, tcp4(bytes([0x04, 0, 200]))),
    "v2-huge": SIG + bytes([0x21, 0x11, 0xff, 0xff]),
    "v2-bad-version": SIG + bytes([0x31, 0x11, 0, 12]) + tcp4(),
    "v2-bad-command": v2(0x2f, 0x11, tcp4()),
    "v1-family-mismatch": b"PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
    "v1-bad-port": b"PROXY TCP4 192.0.2.1 10.0.0.1 99999 80\r\n",
    "v1-too-long": b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n",
    "v1-lf-only": b"PROXY TCP4 192.0.2.1 10.0.0.1 1 2\n",
    "http": b"",
}


def one(port, case):
    """What the server answered: the first line of a 200's body, "STATUS n"
    for another status, or "CLOSED" when it closed without a byte."""
    head = CASES[case]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if case.endswith("-pieces"):
            for i in range(len(head)):  # one byte per segment
                s.sendall(head[i:i + 1])
                time.sleep(0.005)
            s.sendall(REQ % case.encode())
        else:
            s.sendall(head + REQ % case.encode())
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    s.close()
    if not got:
        return "CLOSED"
    text = got.decode("latin-1")
    if not text.startswith("HTTP/1.1 200 "):
        return "STATUS " + text[9:12]
    return text.split("\r\n\r\n", 1)[1].split("\n", 1)[0]


def main():
    port = int(sys.argv[1])
    for case in sys.argv[2:]:
        print("%s\t%s" % (case, one(port, case)), flush=True)


if __name__ == "__main__":
    main()
