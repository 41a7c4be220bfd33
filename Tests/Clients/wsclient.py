"""Independent WebSocket client for Plenum's end-to-end tests.

Usage: python wsclient.py SCENARIO PORT [ARG...]

Each scenario talks to a running hub on 127.0.0.1:PORT and prints one JSON object on
stdout: what it observed. The Swift tests assert on it. Every wait is bounded.
"""

import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request

from websockets.sync.client import connect
from websockets.exceptions import ConnectionClosed

TIMEOUT = 10


def url(port, path="/ws"):
    return f"ws://127.0.0.1:{port}{path}"


def recv_json(ws, timeout=TIMEOUT):
    return json.loads(ws.recv(timeout=timeout))


def recv_until(ws, kind, timeout=TIMEOUT):
    """Receives messages until one of type `kind`; returns it and those skipped."""
    skipped = []
    deadline = time.monotonic() + timeout
    while True:
        message = recv_json(ws, max(0.01, deadline - time.monotonic()))
        if message["type"] == kind:
            return message, skipped
        skipped.append(message)


def collect_updates(ws, count, timeout=TIMEOUT):
    updates = []
    deadline = time.monotonic() + timeout
    while len(updates) < count and time.monotonic() < deadline:
        try:
            message = recv_json(ws, max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if message["type"] == "update":
            updates.append(message)
    return updates


def increasing_per_channel(updates, start=None):
    last = dict(start or {})
    for u in updates:
        if u["version"] <= last.get(u["channel"], 0):
            return False
        last[u["channel"]] = u["version"]
    return True


# ---- scenarios ------------------------------------------------------------------------------


def url_subscribe(port, pattern):
    """Subscribe by URL; report the first messages and whether versions only go up."""
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        welcome = recv_json(ws)
        subscribed = recv_json(ws)
        snapshot = recv_json(ws)
        start = {c["channel"]: c["version"] for c in snapshot["channels"]}
        updates = collect_updates(ws, 20)
        return {
            "welcome": sorted(welcome.keys()),
            "subscribed": subscribed,
            "snapshot_channels": [c["channel"] for c in snapshot["channels"]],
            "snapshot_fields": sorted(snapshot["channels"][0].keys()) if snapshot["channels"] else [],
            "updates": len(updates),
            "update_channels": sorted({u["channel"] for u in updates}),
            "increasing": increasing_per_channel(updates, start),
            "ts_is_int": all(isinstance(u["ts"], int) for u in updates),
        }


def message_subscribe(port, *patterns):
    """Subscribe by message (with an id); then unsubscribe and check updates stop."""
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)  # welcome
        ws.send(json.dumps({"op": "subscribe", "channels": list(patterns), "id": 7}))
        subscribed, _ = recv_until(ws, "subscribed")
        snapshot, _ = recv_until(ws, "snapshot")
        updates = collect_updates(ws, 10)
        ws.send(json.dumps({"op": "unsubscribe", "channels": list(patterns)}))
        unsubscribed, _ = recv_until(ws, "unsubscribed")
        time.sleep(0.3)
        late = []
        try:
            while True:
                m = recv_json(ws, 0.3)
                if m["type"] == "update":
                    late.append(m)
        except TimeoutError:
            pass
        return {
            "subscribed": subscribed,
            "snapshot_id": snapshot.get("id"),
            "snapshot_channels": [c["channel"] for c in snapshot["channels"]],
            "update_channels": sorted({u["channel"] for u in updates}),
            "unsubscribed": unsubscribed,
            "updates_after_unsubscribe": len(late),
        }


def late_channel(port, pattern, marker):
    """Subscribe to a pattern before a matching channel exists; wait for it to appear."""
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        recv_until(ws, "snapshot")
        open(marker, "w").close()  # tell the test to publish the new channel now
        updates = collect_updates(ws, 1)
        return {"first_update": updates[0] if updates else None}


def bad_input(port):
    """Every malformed client message gets an error; the connection stays usable."""
    answers = []
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        for text in [
            "not json",
            "[1,2]",
            '{"channels":["/a"]}',
            '{"op":5}',
            '{"op":"dance"}',
            '{"op":"subscribe"}',
            '{"op":"subscribe","channels":[1]}',
            '{"op":"subscribe","channels":["no-slash"]}',
            '{"op":"subscribe","channels":["/a/**/b"]}',
            '{"op":"subscribe","channels":["/a","/b","/c","/d","/e","/f"]}',
        ]:
            ws.send(text)
            answers.append(recv_json(ws))
        ws.send(b"\x01\x02")
        answers.append(recv_json(ws))
        ws.send('{"op":"ping","id":"still-here"}')
        answers.append(recv_json(ws))
    return {"answers": answers}


def other_client_unaffected(port, pattern):
    """One client sends garbage and violates the protocol while another keeps receiving."""
    with connect(url(port, "/ws" + pattern), max_size=None) as good:
        recv_until(good, "snapshot")
        raw = RawClient(port)
        raw.send_frame(0x1, b"\xff\xfe", masked=True)
        code = raw.read_close_code()
        updates = collect_updates(good, 5)
        return {"bad_client_close": code, "good_client_updates": len(updates)}


class RawClient:
    """A hand-rolled client for frames `websockets` refuses to send."""

    def __init__(self, port, path="/ws"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed during handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def send_frame(self, opcode, payload, fin=True, masked=True, rsv=0):
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        length = len(payload)
        mask_bit = 0x80 if masked else 0
        if length < 126:
            header = struct.pack("!BB", first, mask_bit | length)
        elif length < 65536:
            header = struct.pack("!BBH", first, mask_bit | 126, length)
        else:
            header = struct.pack("!BBQ", first, mask_bit | 127, length)
        if masked:
            mask = os.urandom(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            header += mask
        self.sock.sendall(header + payload)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_frame(self):
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        return first & 0x0F, self._read(length), bool(second & 0x80)

    def read_close_code(self):
        """Reads frames until a close frame; returns its code (None for an empty close)."""
        try:
            while True:
                opcode, payload, _ = self.read_frame()
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        except (EOFError, ConnectionResetError, socket.timeout):
            return "eof"


def violations(port, max_message):
    """RFC 6455 violations, each on its own connection: the close code the server sends."""
    max_message = int(max_message)
    results = {}

    def case(name, action):
        raw = RawClient(port)
        action(raw)
        results[name] = raw.read_close_code()

    case("unmasked", lambda r: r.send_frame(0x1, b'{"op":"ping"}', masked=False))
    case("reserved_bit", lambda r: r.send_frame(0x1, b'{"op":"ping"}', rsv=4))
    case("bad_opcode", lambda r: r.send_frame(0x3, b""))
    case("invalid_utf8", lambda r: r.send_frame(0x1, b'{"op":"\xc3\x28"}'))
    case("oversized_frame", lambda r: r.send_frame(0x1, b"x" * (max_message + 1)))

    def oversized_fragments(r):
        r.send_frame(0x1, b"x" * (max_message // 2 + 1), fin=False)
        r.send_frame(0x0, b"x" * (max_message // 2 + 1), fin=True)

    case("oversized_message", oversized_fragments)
    case("orphan_continuation", lambda r: r.send_frame(0x0, b"x"))

    def interleaved(r):
        r.send_frame(0x1, b'{"op":', fin=False)
        r.send_frame(0x1, b'"ping"}')

    case("new_message_mid_fragment", interleaved)
    case("fragmented_ping", lambda r: r.send_frame(0x9, b"x", fin=False))
    case("close_1000", lambda r: r.send_frame(0x8, struct.pack("!H", 1000) + b"bye"))
    case("close_4321", lambda r: r.send_frame(0x8, struct.pack("!H", 4321)))
    case("close_empty", lambda r: r.send_frame(0x8, b""))
    case("close_1005", lambda r: r.send_frame(0x8, struct.pack("!H", 1005)))
    case("close_one_byte", lambda r: r.send_frame(0x8, b"\x03"))
    case("close_bad_utf8_reason", lambda r: r.send_frame(0x8, struct.pack("!H", 1000) + b"\xff"))

    # A fragmented text message with a ping in the middle is reassembled and answered.
    raw = RawClient(port)
    raw.send_frame(0x1, b'{"op":"pi', fin=False)
    raw.send_frame(0x9, b"hello")
    raw.send_frame(0x0, b'ng","id":3}', fin=True)
    frames = []
    while len(frames) < 3:
        opcode, payload, masked = raw.read_frame()
        frames.append((opcode, payload.decode(errors="replace"), masked))
    results["fragmented"] = frames
    return results


def handshake(port, path, headers, method="GET"):
    """A raw HTTP request to a /ws path; returns the status, the body and the headers the
    WebSocket rules care about."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    request = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    sock.sendall(request.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    extra = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        if name.strip().lower() in (b"sec-websocket-version", b"allow"):
            extra[name.strip().decode()] = value.strip().decode()
    status = int(head.split(b" ")[1])
    while status != 101 and len(body) < length:
        body += sock.recv(4096)
    sock.close()
    result = {"status": status, "body": json.loads(body) if body and status != 101 else None}
    if extra:
        result["headers"] = extra
    return result


def handshakes(port):
    upgrade = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"]
    key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
    return {
        "no_upgrade": handshake(port, "/ws/a", []),
        "no_key": handshake(port, "/ws/a", upgrade),
        "bad_version": handshake(port, "/ws/a", ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 8", key]),
        "bad_pattern": handshake(port, "/ws/a/**/b", upgrade + [key]),
        "post": handshake(port, "/ws/a", upgrade + [key], method="POST"),
        "short_key": handshake(port, "/ws/a", upgrade + ["Sec-WebSocket-Key: c2hvcnQ="]),
        "not_base64_key": handshake(port, "/ws/a", upgrade + ["Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="]),
        "good": handshake(port, "/ws/a", upgrade + [key]),
    }


def connection_limit(port, limit):
    """Open `limit` connections, then one more: the extra gets HTTP 503."""
    limit = int(limit)
    clients = [connect(url(port), max_size=None) for _ in range(limit)]
    for c in clients:
        recv_json(c)
    extra = handshake(port, "/ws", ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
    clients[0].close()
    time.sleep(0.3)
    again = connect(url(port), max_size=None)
    welcome = recv_json(again)
    again.close()
    for c in clients[1:]:
        c.close()
    return {"extra": extra, "after_one_left": welcome["type"]}


def http(port):
    def get(path, method="GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
                return {"status": r.status, "body": json.loads(r.read())}
        except urllib.error.HTTPError as e:
            return {"status": e.code, "body": json.loads(e.read()), "allow": e.headers.get("Allow")}

    return {
        "healthz": get("/healthz"),
        "readyz": get("/readyz"),
        "channels": get("/api/channels"),
        "one": get("/api/channels/t/a"),
        "missing": get("/api/channels/t/zzz"),
        "bad_path": get("/api/channels/t//a"),
        "unknown_route": get("/nope"),
        "wrong_method": get("/api/channels", "POST"),
    }


def slow_reader(port, pattern, pause):
    """Connect, stop reading for `pause` seconds, then read: the newest value arrives."""
    pause = float(pause)
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        _, _ = recv_until(ws, "snapshot")
        time.sleep(pause)
        received = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                received.append(recv_json(ws, max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                break
        updates = [m for m in received if m["type"] == "update"]
        return {
            "updates": len(updates),
            "last_version": updates[-1]["version"] if updates else None,
            "increasing": increasing_per_channel(updates),
        }


def slow_consumer(port, pattern):
    """Never read: the server must close us with 4008 once too much is pending."""
    raw = RawClient(port, "/ws" + pattern)
    time.sleep(3)
    raw.sock.settimeout(5)
    return {"close": raw.read_close_code()}


def stalled_reader(port, pattern, pause, read_for):
    """Subscribes by message, then stops reading for `pause` s while sending a ping every 20 ms
    (so replies are queued while the hub's sends to us are partial or would block), then reads
    for `read_for` s. Every frame must parse; the replies must arrive in order; `subscribed`
    before the snapshot, each channel's snapshot before its updates, versions increasing; and if
    the hub closes us (4008), the close frame is the last thing on the wire. (The welcome comes
    first of all.)"""
    pause, read_for = float(pause), float(read_for)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    raw = RawClient.__new__(RawClient)
    raw.sock = sock
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    raw.buffer = b""
    while b"\r\n\r\n" not in raw.buffer:
        raw.buffer += sock.recv(4096)
    raw.buffer = raw.buffer.split(b"\r\n\r\n", 1)[1]
    raw.send_frame(0x1, json.dumps({"op": "subscribe", "channels": [pattern], "id": 0}).encode())
    pings = 0
    deadline = time.monotonic() + pause
    while time.monotonic() < deadline:
        pings += 1
        raw.send_frame(0x1, json.dumps({"op": "ping", "id": pings}).encode())
        time.sleep(0.02)
    result = {"pings": pings, "frames": 0, "bad_frames": 0, "pongs": 0, "pongs_in_order": True,
              "subscribed_first": None, "snapshot_before_updates": True, "increasing": True, "updates": 0,
              "close": None, "after_close": 0}
    snapshot = None
    last_pong = 0
    last = {}
    deadline = time.monotonic() + read_for
    sock.settimeout(1)
    while time.monotonic() < deadline:
        try:
            opcode, payload, _ = raw.read_frame()
        except (socket.timeout, TimeoutError):
            if result["close"] is not None or result["pongs"] == pings:
                break
            continue
        except (EOFError, ConnectionResetError):
            break
        if result["close"] is not None:
            result["after_close"] += 1
            continue
        result["frames"] += 1
        if opcode == 0x8:
            result["close"] = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            continue
        try:
            message = json.loads(payload)
        except ValueError:
            result["bad_frames"] += 1
            continue
        kind = message.get("type")
        if result["subscribed_first"] is None and kind != "welcome":
            result["subscribed_first"] = kind == "subscribed"
        if kind == "pong":
            result["pongs"] += 1
            if message.get("id") != last_pong + 1:
                result["pongs_in_order"] = False
            last_pong = message.get("id", 0)
        elif kind == "snapshot":
            snapshot = {c["channel"]: c["version"] for c in message["channels"]}
            for channel, version in snapshot.items():
                last[channel] = version
        elif kind == "update":
            result["updates"] += 1
            if snapshot is None or message["channel"] not in snapshot:
                result["snapshot_before_updates"] = False
            if message["version"] <= last.get(message["channel"], 0):
                result["increasing"] = False
            last[message["channel"]] = message["version"]
    sock.close()
    return result


def many_clients(port, pattern, count):
    count = int(count)
    results = [None] * count

    def run(i):
        try:
            with connect(url(port, "/ws" + pattern), max_size=None) as ws:
                recv_until(ws, "snapshot")
                updates = collect_updates(ws, 5)
                results[i] = len(updates) == 5 and increasing_per_channel(updates)
        except Exception as e:  # reported, not raised: the test asserts on the count
            results[i] = repr(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    return {"ok": sum(1 for r in results if r is True), "failures": [r for r in results if r is not True][:3]}


def big_snapshot(port, pattern):
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        snapshot, _ = recv_until(ws, "snapshot", timeout=30)
        channels = snapshot["channels"]
        return {"count": len(channels), "unique": len({c["channel"] for c in channels})}


def shutdown_close(port, marker):
    with connect(url(port, "/ws"), max_size=None) as ws:
        recv_json(ws)
        open(marker, "w").close()  # tell the test to shut the server down
        try:
            while True:
                ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as e:
            return {"code": e.rcvd.code if e.rcvd else None, "reason": e.rcvd.reason if e.rcvd else None}
        except TimeoutError:
            return {"code": "timeout"}




def values_until_close(port, pattern, marker):
    """Subscribe, create `marker` once the snapshot arrived, then record every value received
    until the server closes the connection: the close code and the last value per channel."""
    last = {}
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        snapshot, _ = recv_until(ws, "snapshot")
        for entry in snapshot["channels"]:
            last[entry["channel"]] = entry["value"]
        open(marker, "w").close()
        try:
            while True:
                message = json.loads(ws.recv(timeout=TIMEOUT))
                if message["type"] == "update":
                    last[message["channel"]] = message["value"]
        except ConnectionClosed as e:
            return {"code": e.rcvd.code if e.rcvd else None, "last": last}
        except TimeoutError:
            return {"code": "timeout", "last": last}


def watch_through(port, pattern, marker, limit, ready):
    """Subscribe, create `ready`, then stay subscribed until `marker` exists; report whether the
    connection survived and which channels it received."""
    limit = float(limit)
    channels = set()
    closed = False
    deadline = time.monotonic() + limit * 4
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        recv_until(ws, "snapshot")
        open(ready, "w").close()
        while not os.path.exists(marker) and time.monotonic() < deadline:
            try:
                message = recv_json(ws, 0.2)
                if message["type"] == "update":
                    channels.add(message["channel"])
            except TimeoutError:
                pass
            except ConnectionClosed:
                closed = True
                break
    return {"closed": closed, "channels": sorted(channels)}


def every_update(port, pattern, ready, done, limit):
    """Subscribe, create `ready` once the snapshot arrived, then record every update (channel,
    version, value) until `done` exists (at most `limit` seconds) or the server closes."""
    deadline = time.monotonic() + float(limit)
    updates = []
    closed = False
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        snapshot, _ = recv_until(ws, "snapshot")
        open(ready, "w").close()
        while not os.path.exists(done) and time.monotonic() < deadline:
            try:
                message = recv_json(ws, 0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                closed = True
                break
            if message["type"] == "update":
                updates.append([message["channel"], message["version"], message["value"]])
    return {
        "snapshot": [[c["channel"], c["version"]] for c in snapshot["channels"]],
        "updates": updates,
        "closed": closed,
        "done": os.path.exists(done),
    }


def hold_write_lock(port, database, ready, release, limit):
    """Another process writing to the trend database (a backup, an operator's sqlite3 shell, a
    stuck disk as the hub sees it): takes SQLite's write lock on `database` with BEGIN EXCLUSIVE
    (in WAL mode it blocks the other writers, not the readers), creates `ready`, and holds the
    lock until `release` exists (at most `limit` seconds). `port` is not used."""
    import sqlite3

    connection = sqlite3.connect(database, timeout=TIMEOUT, isolation_level=None)
    journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    open(ready, "w").close()
    deadline = started + float(limit)
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.02)
    held = time.monotonic() - started
    connection.execute("ROLLBACK")
    connection.close()
    return {"journal_mode": journal, "held_s": round(held, 3), "released": os.path.exists(release)}


def resume(port, pattern, marker, portfile):
    """Subscribe, remember positions, disconnect; after the test publishes (and maybe restarts
    the hub), reconnect with those positions and report what arrives."""
    with connect(url(port), max_size=None) as ws:
        welcome = recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [pattern]}))
        snapshot, _ = recv_until(ws, "snapshot")
    positions = {c["channel"]: c["version"] for c in snapshot["channels"]}
    open(marker, "w").close()
    deadline = time.monotonic() + TIMEOUT * 2
    while not os.path.exists(portfile) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    with open(portfile) as f:
        port = int(f.read())
    received = []
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [pattern], "id": 1,
                            "resume": {"epoch": welcome["epoch"], "channels": positions}}))
        try:
            while True:
                received.append(recv_json(ws, 0.5))
        except TimeoutError:
            pass
    return {
        "positions": positions,
        "ack": received[0] if received else None,
        "updates": [[m["channel"], m["version"]] for m in received if m["type"] == "update"],
        "snapshot": next(([[c["channel"], c["version"]] for c in m["channels"]] for m in received
                          if m["type"] == "snapshot"), None),
    }


def metrics_traffic(port, pattern, expected, ready=None):
    """Known traffic, then /metrics: updates received, errors provoked, the metric lines.
    With `ready`, that file is created once subscribed (the test then starts the traffic)."""
    expected = int(expected)
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        recv_until(ws, "snapshot")
        if ready:
            open(ready, "w").close()
        updates = collect_updates(ws, expected, timeout=15)
        for text in ["nope", "{bad", '{"op":"dance"}']:
            ws.send(text)
            recv_until(ws, "error")
    raw = RawClient(port)
    raw.send_frame(0x1, b'{"op":"ping"}', masked=False)
    raw.read_close_code()
    raw.sock.close()
    time.sleep(0.5)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as r:
        content_type = r.headers.get("Content-Type")
        text = r.read().decode()
    metrics = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            metrics[name] = float(value)
    return {"received": len(updates), "content_type": content_type, "metrics": metrics}


def upgrade_request(path="/ws"):
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def metric_values(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def abandoned_upgrades(port, count):
    """Send `count` upgrade requests and close each before reading the 101 (half with FIN, half
    with RST); then a real client connects and /metrics is read once every slot is back."""
    count = int(count)
    request = upgrade_request()
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if i % 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        sock.sendall(request)
        sock.close()
    deadline = time.monotonic() + 20
    metrics = {}
    while time.monotonic() < deadline:
        try:
            metrics = metric_values(port)
        except urllib.error.HTTPError as e:
            # Until the hub has seen every abandoned socket close, they still hold their
            # slots and /metrics itself is refused with 503: poll again.
            if e.code != 503:
                raise
            time.sleep(0.1)
            continue
        # This /metrics request itself is the one open connection.
        if metrics.get("plenum_server_connections") == 1 and metrics.get("plenum_ws_connections") == 0:
            break
        time.sleep(0.1)
    try:
        with connect(url(port), max_size=None, open_timeout=TIMEOUT) as ws:
            first = recv_json(ws)["type"]
    except Exception as e:  # reported: the test asserts on it
        first = repr(e)
    return {
        "first_message": first,
        "server_connections": metrics.get("plenum_server_connections"),
        "ws_connections": metrics.get("plenum_ws_connections"),
    }


def pipeline_flood(port, count, marker, done):
    """Pipeline `count` GET /api/channels on one connection that never reads (sending for at
    most 10 s); create `marker`, hold the connection until `done` exists, then close."""
    count = int(count)
    request = b"GET /api/channels HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    payload = request * count
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 10
    while sent < len(payload) and time.monotonic() < deadline:
        try:
            sent += sock.send(payload[sent : sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    open(marker, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(done) and time.monotonic() < deadline:
        time.sleep(0.05)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return {"requests_sent": sent // len(request), "bytes_sent": sent}


def flood_without_reading(port, kind, seconds, marker, done):
    """A WebSocket client that never reads and keeps sending `subscribe ["/**"]` (kind
    "subscribe") or pings with a 60 KB id (kind "ping") for at most `seconds`, or until the
    hub stops taking its bytes; creates `marker`, waits for `done`, then reads what is queued for
    it and reports the close code."""
    seconds = float(seconds)
    raw = RawClient(port)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    if kind == "subscribe":
        message = b'{"op":"subscribe","channels":["/**"]}'
    else:
        message = json.dumps({"op": "ping", "id": "x" * 60000}).encode()
    raw.sock.settimeout(0.5)
    sent = 0
    error = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            raw.send_frame(0x1, message)
            sent += 1
        except socket.timeout:
            break  # the hub stopped reading us
        except OSError as e:
            error = type(e).__name__
            break
    open(marker, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(done) and time.monotonic() < deadline:
        time.sleep(0.05)
    raw.sock.settimeout(TIMEOUT)
    return {"sent": sent, "send_error": error, "close": raw.read_close_code()}


def hold_connections(port, count, marker, done):
    """Open `count` TCP connections (as many as succeed), create `marker`, keep them until `done`."""
    count = int(count)
    socks = []
    failures = 0
    for _ in range(count):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            failures += 1
    open(marker, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(done) and time.monotonic() < deadline:
        time.sleep(0.05)
    for s in socks:
        s.close()
    return {"opened": len(socks), "failed": failures}


def silent_clients(port):
    """Timeouts as a client sees them: a half-sent HTTP request, an idle keep-alive connection,
    a WebSocket that never answers pings, and one that does."""

    def wait_closed(sock, limit=10):
        sock.settimeout(limit)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return received, True
                received += chunk
        except ConnectionResetError:
            return received, True
        except socket.timeout:
            return received, False

    half = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    half.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    _, half_closed = wait_closed(half)

    idle = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer, idle_closed = wait_closed(idle)

    raw = RawClient(port)
    frames = []
    raw.sock.settimeout(10)
    try:
        while True:
            opcode, payload, _ = raw.read_frame()
            frames.append(opcode)
            if opcode == 0x8:
                frames.append(struct.unpack("!H", payload[:2])[0])
                frames.append(payload[2:].decode())
                break
    except (EOFError, socket.timeout, ConnectionResetError) as e:
        frames.append(type(e).__name__)

    with connect(url(port), max_size=None) as ws:  # answers pings by itself
        recv_json(ws)
        time.sleep(2)
        ws.send('{"op":"ping","id":1}')
        alive = recv_until(ws, "pong")[0]["id"] == 1
    return {
        "half_request_closed": half_closed,
        "idle_answered": answer.startswith(b"HTTP/1.1 200"),
        "idle_closed": idle_closed,
        "silent_ws_frames": frames,
        "answering_ws_alive": alive,
    }


def many_patterns(port, count):
    """One subscribe naming `count` distinct patterns, then a ping: both answers."""
    count = int(count)
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [f"/{i}" for i in range(count)], "id": 1}))
        ws.send('{"op":"ping","id":2}')
        first = recv_json(ws)
        second = recv_json(ws)
    return {"first": first, "second": second}


def metrics_traffic_only(port):
    """Just /metrics, as {name: value}."""
    return metric_values(port)


def get(port, path):
    """One HTTP GET; prints the status and the JSON body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
            return {"status": r.status, "body": json.loads(r.read())}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": json.loads(e.read())}


def get_raw(port, path, accept="*/*"):
    """One HTTP GET with an Accept header; prints the status, the content type and the body as text."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as r:
            return {"status": r.status, "content_type": r.headers.get("Content-Type"), "text": r.read().decode()}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "content_type": e.headers.get("Content-Type"), "text": e.read().decode()}


def http_pipelined(port, *paths):
    """Sends every GET at once on one connection (the last asks to close), then reads the answers:
    prints their statuses and bodies in the order they arrived."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    requests = []
    for i, path in enumerate(paths):
        connection = "close" if i == len(paths) - 1 else "keep-alive"
        requests.append(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n")
    sock.sendall("".join(requests).encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:"))
        answers.append({"status": int(lines[0].split(" ")[1]), "body": rest[:length].decode()})
        data = rest[length:]
    return {"answers": answers}


# ---- writes (docs/protocol.md, "Writing") ----------------------------------------------------


def collect_written(ws, ids, timeout=TIMEOUT, grace=0.5):
    """Receives until every id in `ids` has a `written` answer, then `grace` seconds more to see
    a second answer if there were one. Returns {id: [answers]}."""
    answers = {i: [] for i in ids}
    deadline = time.monotonic() + timeout
    quiet_until = None
    while True:
        now = time.monotonic()
        if quiet_until is None and all(answers[i] for i in ids):
            quiet_until = now + grace
        end = quiet_until if quiet_until is not None else deadline
        if now >= end:
            break
        try:
            message = recv_json(ws, max(0.01, end - now))
        except TimeoutError:
            continue
        if message.get("type") == "written":
            answers.setdefault(message.get("id"), []).append(message)
    return answers


def write(port, channel, value, *more):
    """One write per (channel, value) pair given, each with its own id, sent at once; prints the
    answers by id (as lists: a second answer would show)."""
    pairs = [(channel, value)] + [(more[i], more[i + 1]) for i in range(0, len(more), 2)]
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)  # welcome
        for i, (c, v) in enumerate(pairs, start=1):
            ws.send(json.dumps({"op": "write", "channel": c, "value": json.loads(v), "id": i}))
        answers = collect_written(ws, list(range(1, len(pairs) + 1)), timeout=30)
    return {str(i): a for i, a in answers.items()}


def write_burst(port, channel, value, count, id_bytes=0):
    """`count` writes sent without waiting for answers (their ids `id_bytes` long at least): how
    many answers each got, by code."""
    count = int(count)
    ids = [("x" * int(id_bytes)) + str(i) for i in range(count)] if int(id_bytes) else list(range(count))
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        for i in ids:
            ws.send(json.dumps({"op": "write", "channel": channel, "value": json.loads(value), "id": i}))
        answers = collect_written(ws, ids, timeout=30)
    codes = {}
    for got in answers.values():
        for a in got:
            code = "ok" if a["ok"] else a["code"]
            codes[code] = codes.get(code, 0) + 1
    return {
        "answered": sum(1 for got in answers.values() if got),
        "exactly_once": all(len(got) == 1 for got in answers.values()),
        "codes": codes,
    }


def bad_writes(port):
    """Writes that are not writes: protocol errors, the connection stays open."""
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        out = []
        for message in [
            {"op": "write", "value": 1, "id": 1},
            {"op": "write", "channel": "plant/x", "value": 1, "id": 2},
            {"op": "write", "channel": "/plant/x", "id": 3},
        ]:
            ws.send(json.dumps(message))
            out.append(recv_json(ws))
        ws.send('{"op":"ping","id":4}')
        out.append(recv_json(ws))
    return {"answers": out}


def put(port, path, body):
    """One HTTP PUT with `body` as is; prints the status and the JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body.encode(), method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return {"status": r.status, "body": json.loads(r.read())}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": json.loads(e.read())}


def setpoint_follows(port, setpoint_channel, supply_channel, value, min_move, timeout=60):
    """Writes `value` to `setpoint_channel` while subscribed to it and to `supply_channel`; reports
    the answer, whether the setpoint channel followed, and how far the supply moved toward the
    new setpoint (from its value when the write was answered)."""
    value = float(value)
    min_move = float(min_move)
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        ws.send(json.dumps({"op": "subscribe", "channels": [setpoint_channel, supply_channel], "id": 1}))
        snapshot, _ = recv_until(ws, "snapshot")
        latest = {c["channel"]: c["value"] for c in snapshot["channels"]}
        # Both channels must exist before the write (a device that just started may not have
        # published them yet).
        ready_by = time.monotonic() + TIMEOUT
        while len(latest) < 2 and time.monotonic() < ready_by:
            try:
                message = recv_json(ws, max(0.01, ready_by - time.monotonic()))
            except TimeoutError:
                break
            if message["type"] == "update":
                latest[message["channel"]] = message["value"]
        started = time.monotonic()
        ws.send(json.dumps({"op": "write", "channel": setpoint_channel, "value": value, "id": 2}))
        answer = None
        supply_start = latest.get(supply_channel)
        setpoint_seen = None
        moved = 0.0
        deadline = started + float(timeout)
        while time.monotonic() < deadline:
            try:
                message = recv_json(ws, max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            if message["type"] == "written":
                answer = message
                supply_start = latest.get(supply_channel)
            elif message["type"] == "update":
                latest[message["channel"]] = message["value"]
                if message["channel"] == setpoint_channel and message["value"] == value and answer is not None:
                    setpoint_seen = round(time.monotonic() - started, 1)
                if message["channel"] == supply_channel and answer is not None and supply_start is not None:
                    direction = 1 if value > supply_start else -1
                    moved = max(moved, direction * (message["value"] - supply_start))
            if answer is not None and setpoint_seen is not None and moved >= min_move:
                break
        return {
            "answer": answer,
            "setpoint_followed": setpoint_seen is not None,
            "supply_start": supply_start,
            "moved_toward_setpoint": round(moved, 2),
            "seconds": round(time.monotonic() - started, 1),
        }


def audit_history(port):
    """Every attempt /plenum/audit still holds, oldest first (a resume from version 0)."""
    epoch = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/channels", timeout=TIMEOUT).read())[
        "epoch"
    ]
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        ws.send(json.dumps({
            "op": "subscribe", "channels": ["/plenum/audit"], "id": 1,
            "resume": {"epoch": epoch, "channels": {"/plenum/audit": 0}},
        }))
        subscribed, _ = recv_until(ws, "subscribed")
        records = []
        while True:
            try:
                message = recv_json(ws, 1.0)
            except TimeoutError:
                break
            if message["type"] == "update":
                records.append(message["value"])
    return {"recovered": subscribed.get("recovered"), "records": records}


def write_round_trips(port, channel, count, low, high):
    """`count` writes, one at a time, alternating `low` and `high`: the round-trip latency
    (client -> script -> ack -> client) percentiles in milliseconds."""
    count = int(count)
    values = [float(low), float(high)]
    latencies = []
    failures = {}
    with connect(url(port), max_size=None) as ws:
        recv_json(ws)
        for i in range(count):
            sent = time.perf_counter()
            ws.send(json.dumps({"op": "write", "channel": channel, "value": values[i % 2], "id": i}))
            while True:
                message = recv_json(ws)
                if message.get("type") == "written" and message.get("id") == i:
                    break
            latencies.append((time.perf_counter() - sent) * 1000)
            if not message["ok"]:
                failures[message["code"]] = failures.get(message["code"], 0) + 1
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 3)

    return {"count": count, "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(latencies[-1], 3),
            "failures": failures}


def watch_and_write(port, pattern, needed, *writes):
    """Subscribe to `pattern`; once `needed` of its channels have a value, send each
    (channel, value) pair in `writes` as a write with ids 1, 2, …; then receive until every write
    is answered and each accepted one's channel shows the written value. Reports the values
    before the writes, the answers by id and the values at the end."""
    needed = int(needed)
    pairs = [(writes[i], json.loads(writes[i + 1])) for i in range(0, len(writes), 2)]
    last = {}
    deadline = time.monotonic() + TIMEOUT * 2
    with connect(url(port, "/ws" + pattern), max_size=None) as ws:
        snapshot, _ = recv_until(ws, "snapshot")
        for entry in snapshot["channels"]:
            if entry.get("value") is not None:
                last[entry["channel"]] = entry["value"]
        while len(last) < needed and time.monotonic() < deadline:
            try:
                message = recv_json(ws, max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            if message["type"] == "update" and message.get("value") is not None:
                last[message["channel"]] = message["value"]
        before = dict(last)
        for i, (channel, value) in enumerate(pairs, start=1):
            ws.send(json.dumps({"op": "write", "channel": channel, "value": value, "id": i}))
        answers = {}

        def settled():
            if len(answers) < len(pairs):
                return False
            return all(last.get(c) == v for i, (c, v) in enumerate(pairs, start=1) if answers[i].get("ok"))

        deadline = time.monotonic() + TIMEOUT * 2
        while not settled() and time.monotonic() < deadline:
            try:
                message = recv_json(ws, max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            if message["type"] == "written":
                answers[message["id"]] = message
            elif message["type"] == "update":
                last[message["channel"]] = message["value"]
    return {"before": before, "answers": {str(i): a for i, a in answers.items()}, "after": last}


if __name__ == "__main__":
    name, port, *args = sys.argv[1:]
    print(json.dumps(globals()[name](int(port), *args)))
