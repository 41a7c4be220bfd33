"""Clients for the documented promises that DocumentedPromisesTests checks against `plenum run`.

Usage: python promises.py SCENARIO PORT [ARG...]

Each scenario talks to a hub on 127.0.0.1:PORT and prints one JSON object: what it observed.
Every wait is bounded.
"""

import json
import sys
import time

from websockets.sync.client import connect

TIMEOUT = 10


def recv_json(ws, timeout=TIMEOUT):
    return json.loads(ws.recv(timeout=timeout))


def tick_zero(port, rounds):
    """Against the ping-pong counter of DocumentedPromisesTests (tick_ms: 0).

    Phase 1: `rounds` times, write /c/next and wait for the next version of /c/n. The device
    publishes version k+1 only after the client has received version k (it answers the write
    that the client sends on receipt), so no version can be conflated away: every version must
    arrive, in order. With no tick to fall back on, each one arrives only through a wake-up:
    a lost wake-up would leave the client waiting (and this scenario failing on its timeout).

    Phase 2: write /c/burst; the device publishes /c/burst 1..N without pausing, then nothing
    more. The versions received only go up and the last one (N) arrives: nothing published after
    it triggers another push.
    """
    rounds = int(rounds)
    seen = {}
    with connect(f"ws://127.0.0.1:{port}/ws/c/**", max_size=None) as ws:
        welcome = recv_json(ws)
        seen["welcome_tick_ms"] = welcome.get("tick_ms")
        recv_json(ws)  # subscribed
        snapshot = recv_json(ws)
        start = {c["channel"]: c["value"] for c in snapshot["channels"]}
        seen["start"] = start.get("/c/n")
        received = []
        written_failures = []
        for i in range(rounds):
            ws.send(json.dumps({"op": "write", "channel": "/c/next", "value": True, "id": i}))
            want = start.get("/c/n", 0) + i + 1
            while True:
                m = recv_json(ws)
                if m["type"] == "written" and not m.get("ok"):
                    written_failures.append(m)
                if m["type"] == "update" and m["channel"] == "/c/n":
                    received.append(m["value"])
                    if m["value"] >= want:
                        break
        seen["n_values"] = received
        seen["write_failures"] = written_failures
        ws.send(json.dumps({"op": "write", "channel": "/c/burst", "value": True, "id": "burst"}))
        burst = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            m = recv_json(ws, max(0.01, deadline - time.monotonic()))
            if m["type"] == "update" and m["channel"] == "/c/burst":
                burst.append(m["version"])
                if m["value"] == "done":
                    break
        seen["burst_updates"] = len(burst)
        seen["burst_last_version"] = burst[-1] if burst else None
        seen["burst_increasing"] = all(a < b for a, b in zip(burst, burst[1:]))
    return seen


def busy_publisher(port, pattern):
    """While a device publishes without pause: connect, subscribe by message, ping, unsubscribe.
    Every answer arrives (the hub reads its sockets between push passes)."""
    seen = {}
    with connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
        seen["welcome"] = recv_json(ws)["type"]
        ws.send(json.dumps({"op": "subscribe", "channels": [pattern], "id": 1}))
        answers = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and "snapshot" not in answers:
            m = recv_json(ws, max(0.01, deadline - time.monotonic()))
            if m["type"] == "update":
                seen["updates"] = seen.get("updates", 0) + 1
            else:
                answers.append(m["type"])
        # A few updates more, then a ping and an unsubscribe among the flood.
        while seen.get("updates", 0) < 20 and time.monotonic() < deadline:
            if recv_json(ws, max(0.01, deadline - time.monotonic()))["type"] == "update":
                seen["updates"] = seen.get("updates", 0) + 1
        ws.send(json.dumps({"op": "ping", "id": "p"}))
        ws.send(json.dumps({"op": "unsubscribe", "channels": [pattern], "id": 2}))
        while time.monotonic() < deadline and "unsubscribed" not in answers:
            m = recv_json(ws, max(0.01, deadline - time.monotonic()))
            if m["type"] != "update":
                answers.append(m["type"])
        seen["answers"] = answers
    return seen


SCENARIOS = {"tick_zero": tick_zero, "busy_publisher": busy_publisher}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]](int(sys.argv[2]), *sys.argv[3:])))
