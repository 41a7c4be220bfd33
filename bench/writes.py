"""Write scenarios for bench/run.py: the round trip of a client's write.

- write-round-trip: a WebSocket client writes a setpoint, one write at a time, to a device
  whose script (bench/plugins/ack.lua) answers at once; the latency is from sending the `write`
  frame to reading its `written` answer: client -> hub -> the device's mailbox -> the script
  (hub.commands) -> hub.ack -> the client's event loop -> client.
- write-round-trip-rest: the same with `PUT /api/channels/<path>` on one keep-alive connection.
- write-round-trip-modbus: line 1's path of the shipped plant: modbus_device.lua writes the
  setpoint register of the simulated controller (plugins/chiller.lua serving Modbus TCP) and
  reads it back before it answers.

Reports p50/p99/max in milliseconds and the hub's CPU per write. The client is a raw socket
(standard library only); it adds a few tens of microseconds of its own.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import struct
import tempfile
import time


class RawWebSocket:
    def __init__(self, port, path="/ws"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        self.buffer = self.buffer.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _need(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk

    def recv(self):
        self._need(2)
        length = self.buffer[1] & 0x7F
        offset = 2
        if length == 126:
            self._need(4)
            length = struct.unpack(">H", self.buffer[2:4])[0]
            offset = 4
        elif length == 127:
            self._need(10)
            length = struct.unpack(">Q", self.buffer[2:10])[0]
            offset = 10
        self._need(offset + length)
        payload = self.buffer[offset:offset + length]
        self.buffer = self.buffer[offset + length:]
        return json.loads(payload)

    def close(self):
        self.sock.close()


def _percentiles(latencies):
    latencies = sorted(latencies)

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 3)

    return {"p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(latencies[-1] * 1000, 3)}


def _wait_for(hub, path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            return hub.get("/api/channels" + path)["value"]
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{path} never appeared")


def _ws_round_trips(hub, channel, count, low, high):
    ws = RawWebSocket(hub.port)
    ws.recv()  # welcome
    latencies, failures = [], 0
    for i in range(count):
        started = time.perf_counter()
        ws.send(json.dumps({"op": "write", "channel": channel, "value": low if i % 2 else high, "id": i}))
        while True:
            message = ws.recv()
            if message.get("type") == "written" and message.get("id") == i:
                break
        latencies.append(time.perf_counter() - started)
        failures += 0 if message["ok"] else 1
    ws.close()
    return latencies, failures


def _measure(hub, count, body):
    body(min(50, count))  # warm-up
    cpu0 = hub.cpu_seconds()
    latencies, failures = body(count)
    cpu = hub.cpu_seconds() - cpu0
    result = {"writes": count, "failures": failures, "hub_cpu_us_per_write": round(cpu / count * 1e6, 1)}
    result.update(_percentiles(latencies))
    return result


def round_trip_scenario(root, hub_class, write_config, transport="ws", count=2000):
    def run():
        with tempfile.TemporaryDirectory() as d:
            config = write_config(d, 10, [{"name": "dev", "script": "plugins/ack.lua", "prefix": "/bench/dev"}])
            with open(config, "a") as f:
                f.write("    writable:\n      - { channel: setpoint, type: number, min: 0, max: 100 }\n")
            hub = hub_class(config)
            try:
                _wait_for(hub, "/plenum/devices/dev/status")
                if transport == "ws":
                    return _measure(hub, count, lambda n: _ws_round_trips(hub, "/bench/dev/setpoint", n, 6.0, 7.0))

                def rest(n):
                    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
                    latencies, failures = [], 0
                    for i in range(n):
                        started = time.perf_counter()
                        connection.request("PUT", "/api/channels/bench/dev/setpoint", body=str(6 + i % 2),
                                           headers={"Content-Type": "application/json"})
                        response = connection.getresponse()
                        response.read()
                        latencies.append(time.perf_counter() - started)
                        failures += 0 if response.status == 200 else 1
                    connection.close()
                    return latencies, failures

                return _measure(hub, count, rest)
            finally:
                hub.stop()
    return run


def modbus_round_trip_scenario(root, hub_class, write_config, count=500):
    def run():
        with tempfile.TemporaryDirectory() as d:
            port = _free_port()
            devices = [
                {"name": "sim", "script": "plugins/chiller.lua", "prefix": "/bench/sim",
                 "params": {"modbus": {"port": port, "unit": 1}}},
                {"name": "chiller", "script": "plugins/modbus_device.lua", "prefix": "/bench/chiller",
                 "params": {"host": "127.0.0.1", "port": port, "unit": 1, "timeout": 0.5, "poll_s": 1,
                            "points": [
                                {"name": "supply_temp", "table": "input", "address": 0, "type": "f32"},
                                {"name": "setpoint", "table": "holding", "address": 0, "type": "f32",
                                 "order": "CDAB", "writable": {"min": 4, "max": 12}},
                            ]}},
            ]
            config = write_config(d, 10, devices)
            for name in ("chiller.lua", "modbus_device.lua"):
                shutil.copy(os.path.join(root, "plugins", name), os.path.join(d, "plugins", name))
            shutil.copytree(os.path.join(root, "plugins", "lib"), os.path.join(d, "plugins", "lib"))
            hub = hub_class(config)
            try:
                _wait_for(hub, "/bench/chiller/setpoint")
                return _measure(hub, count, lambda n: _ws_round_trips(hub, "/bench/chiller/setpoint", n, 6.0, 7.0))
            finally:
                hub.stop()
    return run


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
