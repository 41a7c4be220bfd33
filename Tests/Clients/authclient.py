"""Clients with and without tokens for Plenum's access-control end-to-end tests.

Usage: python authclient.py SCENARIO PORT [ARG...]

Like wsclient.py: each scenario talks to a hub on 127.0.0.1:PORT (or https/wss with a CA file)
and prints one JSON object: what it observed. Every wait is bounded.
"""

import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

from websockets.sync.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

TIMEOUT = 10


def headers_for(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def recv_json(ws, timeout=TIMEOUT):
    return json.loads(ws.recv(timeout=timeout))


def drain(ws, seconds):
    """Every message received within `seconds` (stops early if the connection closes)."""
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            out.append(recv_json(ws, max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            break
        except ConnectionClosed:
            break
    return out


def channels_of(messages):
    """Every channel named in snapshots and updates."""
    seen = set()
    for m in messages:
        if m["type"] == "snapshot":
            seen.update(c["channel"] for c in m["channels"])
        elif m["type"] == "update":
            seen.add(m["channel"])
    return seen


def open_ws(port, path, form, token, scheme="ws", ca=None):
    """Connects with the token in the given form: header, subprotocol, message, none."""
    kwargs = {"max_size": None, "open_timeout": TIMEOUT}
    if ca:
        kwargs["ssl"] = ssl.create_default_context(cafile=ca)
    if form == "header":
        kwargs["additional_headers"] = headers_for(token)
    elif form == "subprotocol":
        kwargs["subprotocols"] = ["plenum", f"plenum.bearer.{token}"]
    ws = connect(f"{scheme}://127.0.0.1:{port}{path}", **kwargs)
    if form == "message":
        ws.send(json.dumps({"op": "auth", "token": token}))
    return ws


def subscribe_case(port, form, token, pattern, seconds):
    """Subscribe to `pattern` (by message) with `token`; what arrives in `seconds`."""
    result = {}
    try:
        with open_ws(port, "/ws", form, token) as ws:
            welcome = recv_json(ws)
            result["welcome"] = welcome
            result["subprotocol"] = ws.subprotocol
            ws.send(json.dumps({"op": "subscribe", "channels": [pattern], "id": 1}))
            messages = drain(ws, seconds)
            result["errors"] = [m for m in messages if m["type"] == "error"]
            snapshots = [m for m in messages if m["type"] == "snapshot"]
            result["snapshot"] = sorted(c["channel"] for c in snapshots[0]["channels"]) if snapshots else None
            result["updates"] = sorted({m["channel"] for m in messages if m["type"] == "update"})
    except ConnectionClosed as e:
        result["closed"] = e.rcvd.code if e.rcvd else None
    except InvalidStatus as e:
        result["status"] = e.response.status_code
    return result


def acl_matrix(port, cases_json, seconds):
    """Runs every case [form, token, pattern] in parallel; returns the results in order."""
    cases = json.loads(cases_json)
    results = [None] * len(cases)

    def run(i, case):
        form, token, pattern = case
        results[i] = subscribe_case(port, form, token, pattern, float(seconds))

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(cases)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    return {"results": results}


def url_subscribe(port, token, pattern, seconds):
    """Subscribe by URL with a header token."""
    with open_ws(port, "/ws" + pattern, "header", token) as ws:
        messages = drain(ws, float(seconds))
    return {
        "types": [m["type"] for m in messages][:3],
        "errors": [m for m in messages if m["type"] == "error"],
        "channels": sorted(channels_of(messages)),
    }


def url_token(port, token, seconds):
    """Opens WebSockets carrying `token` only in the URL's query, in parallel; for each, what
    arrived within `seconds` and how the connection ended."""
    paths = [f"/ws?token={token}", f"/ws?access_token={token}", f"/ws/plant/**?token={token}"]
    results = [None] * len(paths)

    def run(i, path):
        result = {"path": path.split("?")[0], "types": [], "closed": None}
        try:
            with open_ws(port, path, "none", None) as ws:
                for m in drain(ws, float(seconds)):
                    result["types"].append(m["type"])
                try:
                    ws.recv(timeout=0.1)
                except ConnectionClosed as e:
                    result["closed"] = e.rcvd.code if e.rcvd else None
                except TimeoutError:
                    result["closed"] = "still open"
        except InvalidStatus as e:
            result["status"] = e.response.status_code
        results[i] = result

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    return {"results": results}

def resume(port, token, pattern):
    """Subscribe, remember positions, disconnect, reconnect with `resume` naming every channel
    at version 1 — forbidden ones too — and report what is replayed."""
    with open_ws(port, "/ws", "header", token) as ws:
        welcome = recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [pattern]}))
        first = drain(ws, 0.5)
    time.sleep(0.5)
    positions = {c: 1 for c in ["/plant/line1/a", "/plant/line2/b"]}
    with open_ws(port, "/ws", "header", token) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [pattern], "id": 1,
                            "resume": {"epoch": welcome["epoch"], "channels": positions}}))
        messages = drain(ws, 1.0)
    acks = [m for m in messages if m["type"] == "subscribed"]
    with open_ws(port, "/ws", "header", token) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [pattern], "id": 2,
                            "resume": {"epoch": "not-this-hub", "channels": positions}}))
        fresh = drain(ws, 1.0)
    fresh_acks = [m for m in fresh if m["type"] == "subscribed"]
    snapshots = [m for m in fresh if m["type"] == "snapshot"]
    return {
        "first_channels": sorted(channels_of(first)),
        "recovered": acks[0].get("recovered") if acks else None,
        "replayed": sorted(channels_of(messages)),
        "replayed_updates": sum(1 for m in messages if m["type"] == "update"),
        "other_epoch_recovered": fresh_acks[0].get("recovered") if fresh_acks else None,
        "other_epoch_snapshot": sorted(c["channel"] for c in snapshots[0]["channels"]) if snapshots else None,
    }


def write(port, token, channel, value):
    """One WebSocket `write` with `token` in the Authorization header: the answer."""
    with open_ws(port, "/ws", "header", token) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "write", "channel": channel, "value": json.loads(value), "id": 9}))
        while True:
            message = recv_json(ws)
            if message["type"] in ("written", "error"):
                return message


def http_get(port, path, token=None, scheme="http", ca=None):
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", headers=headers_for(token))
    context = ssl.create_default_context(cafile=ca) if ca else None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as r:
            body = r.read()
            return {"status": r.status, "body": json.loads(body) if r.headers.get_content_type() == "application/json" else body.decode()}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": json.loads(e.read()), "www_authenticate": e.headers.get("WWW-Authenticate")}


def rest(port, cases_json):
    """GET each [path, token] pair."""
    return {"results": [http_get(port, path, token) for path, token in json.loads(cases_json)]}


def revoke(port, token, marker, done, limit="20"):
    """Subscribe to /** with `token`, create `marker`, and wait (at most `limit` s) for the hub to close
    the connection; report the close code and reason and the seconds from `done` appearing (the
    test creates it right before SIGHUP) to the close."""
    with open_ws(port, "/ws", "header", token) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": ["/**"]}))
        recv_json(ws)
        open(marker, "w").close()
        signalled = None
        deadline = time.monotonic() + float(limit)
        try:
            while time.monotonic() < deadline:
                if signalled is None and os.path.exists(done):
                    signalled = time.monotonic()
                try:
                    ws.recv(timeout=0.005)
                except TimeoutError:
                    pass
        except ConnectionClosed as e:
            closed = time.monotonic()
            if signalled is None and os.path.exists(done):
                signalled = closed
            return {
                "code": e.rcvd.code if e.rcvd else None,
                "reason": e.rcvd.reason if e.rcvd else None,
                "seconds_after_sighup": (closed - signalled) if signalled else None,
            }
    return {"code": "timeout"}


def origin(port, cases_json):
    """A raw upgrade per [origin, host] (origin None: no header): the HTTP status."""
    out = []
    for origin_value, host in json.loads(cases_json):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        lines = [f"GET /ws HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
        if origin_value is not None:
            lines.append(f"Origin: {origin_value}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.close()
        out.append(int(data.split(b" ")[1]))
    return {"statuses": out}


def brute_force(port, attempts, seconds):
    """`attempts` requests with random wrong tokens spread over `seconds`, on keep-alive
    connections (GET /api/channels with a Bearer header): the statuses seen."""
    attempts = int(attempts)
    seconds = float(seconds)
    statuses = {}
    sock = None
    start = time.monotonic()
    for i in range(attempts):
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            buffer = b""
        token = os.urandom(32).hex()
        sock.sendall(f"GET /api/channels HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        while len(rest) < length:
            rest += sock.recv(65536)
        buffer = rest[length:]
        statuses[status] = statuses.get(status, 0) + 1
        if b"connection: close" in head.lower():
            sock.close()
            sock = None
        pause = start + seconds * (i + 1) / attempts - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    if sock:
        sock.close()
    return {"statuses": {str(k): v for k, v in statuses.items()}, "elapsed": time.monotonic() - start}


def tls_session(port, ca, token):
    """wss:// with the test's CA: welcome, a snapshot; https GET; the server certificate's
    fingerprint."""
    with open_ws(port, "/ws", "header", token, scheme="wss", ca=ca) as ws:
        welcome = recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": ["/plant/**"]}))
        messages = drain(ws, 1.0)
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    import hashlib
    return {
        "welcome": welcome["type"],
        "channels": sorted(channels_of(messages)),
        "updates": sum(1 for m in messages if m["type"] == "update"),
        "rest": http_get(port, "/api/channels/plant/line1/a", token, scheme="https", ca=ca)["status"],
        "fingerprint": hashlib.sha256(der).hexdigest(),
    }


def tls_rude_clients(port, ca, count):
    """`count` TLS clients that close the TCP connection without close_notify: some right after
    the handshake, some mid-request, some in the middle of a WebSocket; then a normal client."""
    count = int(count)
    context = ssl.create_default_context(cafile=ca)
    for i in range(count):
        raw = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        if i % 3 == 1:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        elif i % 3 == 2:
            tls.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            tls.recv(4096)
        raw.close()  # the TCP socket, under the TLS layer: no close_notify
    plain = socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
    plain.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = plain.recv(4096)  # TLS server: a plaintext request gets no HTTP answer
    plain.close()
    return {"after": http_get(port, "/healthz", scheme="https", ca=ca)["status"], "plaintext_answer": answer[:8].decode(errors="replace")}


if __name__ == "__main__":
    name, port, *args = sys.argv[1:]
    print(json.dumps(globals()[name](int(port), *args)))
