"""BACnet scenarios for bench/run.py.

- bacnet-decode: the Swift decoder's cost per COV notification (plenum-bacnet-bench).
- bacnet-cov-500-tick0 / -tick10: a simulated controller with 500 analog-inputs, each
  changing once a second and pushed to the hub as unconfirmed COV notifications (500/s,
  spread evenly over each second); plugins/bacnet_device.lua subscribes to all 500. Reports the
  hub's CPU (% of one core) over the measurement window, and the latency from the moment the
  controller sends a notification to the moment a WebSocket client subscribed to every point
  receives that value (p50/p99, µs) — loopback UDP, the hub, the push and the client's read.

The controller is a few dozen lines of raw BACnet/IP below (Who-Is is not needed: the device is
addressed by "ip:port"): it answers ReadProperty, ReadPropertyMultiple and SubscribeCOV, and
sends notifications to whoever subscribed. The WebSocket client is a raw socket reader, so
`make bench` needs nothing beyond the Python standard library.
"""

import base64
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time

DEVICE = 4500
DEVICE_ID = (8 << 22) | DEVICE


def _bvlc(npdu_apdu):
    return bytes([0x81, 0x0A]) + struct.pack(">H", len(npdu_apdu) + 4) + npdu_apdu


def _real(value):
    return b"\x44" + struct.pack(">f", value)


def _context_unsigned(tag, value):
    data = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return bytes([(tag << 4) | 0x08 | len(data)]) + data


class Controller:
    """500 analog-inputs behind one UDP socket on 127.0.0.1."""

    def __init__(self, points=500):
        self.points = points
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.subscriber = None
        self.subscribed = set()
        self.sent = {}  # (instance, value) -> monotonic_ns at send
        self.running = True
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _reply(self, address, invoke, service, body):
        self.sock.sendto(_bvlc(bytes([0x01, 0x00, 0x30, invoke, service]) + body), address)

    def _serve(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                data, address = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 10 or data[6] >> 4 != 0:
                continue
            invoke, service, body = data[8], data[9], data[10:]
            if service == 12:  # ReadProperty: object-name of anything, else a REAL
                prop = body[6] if body[5] == 0x19 else 85
                value = (b"\x75\x06\x00bench" if prop == 77 else _real(0.0))
                self._reply(address, invoke, 12, body[:7] + b"\x3e" + value + b"\x3f")
            elif service == 14:  # ReadPropertyMultiple: REAL for every property asked
                out, i = b"", 0
                while i < len(body):
                    out += body[i:i + 5] + b"\x1e"
                    i += 6
                    while body[i] != 0x1F:
                        prop = body[i + 1]
                        i += 2
                        if i < len(body) and body[i] == 0x19:
                            i += 2
                        out += bytes([0x29, prop]) + b"\x4e" + _real(0.0) + b"\x4f"
                    out += b"\x1f"
                    i += 1
                self._reply(address, invoke, 14, out)
            elif service == 5:  # SubscribeCOV
                instance = struct.unpack(">I", body[3:7])[0] & 0x3FFFFF
                with self.lock:
                    self.subscriber = address
                    self.subscribed.add(instance)
                self.sock.sendto(_bvlc(bytes([0x01, 0x00, 0x20, invoke, 5])), address)

    def notify(self, instance, value):
        body = (_context_unsigned(0, 1) + b"\x1c" + struct.pack(">I", DEVICE_ID)
                + b"\x2c" + struct.pack(">I", instance) + _context_unsigned(3, 300)
                + b"\x4e\x09\x55\x2e" + _real(value) + b"\x2f\x09\x6f\x2e\x82\x04\x00\x2f\x4f")
        packet = _bvlc(bytes([0x01, 0x00, 0x10, 0x02]) + body)
        self.sent[(instance, value)] = time.monotonic_ns()
        self.sock.sendto(packet, self.subscriber)

    def run_changes(self, seconds):
        """Every point changes once a second, notifications spread evenly over the second."""
        points = sorted(self.subscribed)
        start = time.monotonic()
        step = 0
        while time.monotonic() - start < seconds:
            step += 1
            for k, instance in enumerate(points):
                due = start + (step - 1) + k / len(points)
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.notify(instance, float(step))

    def close(self):
        self.running = False
        self.sock.close()


class Watcher:
    """A raw WebSocket client recording when each (point, value) update arrives."""

    def __init__(self, port, pattern):
        self.arrived = {}
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws{pattern} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        self.buffer = self.buffer.split(b"\r\n\r\n", 1)[1]
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _frames(self):
        while True:
            b = self.buffer
            if len(b) < 2:
                return
            length, offset = b[1] & 0x7F, 2
            if length == 126:
                if len(b) < 4:
                    return
                length, offset = struct.unpack(">H", b[2:4])[0], 4
            elif length == 127:
                if len(b) < 10:
                    return
                length, offset = struct.unpack(">Q", b[2:10])[0], 10
            if len(b) < offset + length:
                return
            yield b[offset:offset + length]
            self.buffer = b[offset + length:]

    def _read(self):
        self.sock.settimeout(0.2)
        while self.running:
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            now = time.monotonic_ns()
            self.buffer += chunk
            for frame in self._frames():
                message = json.loads(frame)
                if message.get("type") != "update" or "/p" not in message["channel"]:
                    continue
                instance = int(message["channel"].rsplit("/p", 1)[1])
                self.arrived.setdefault((instance, message["value"]), now)

    def close(self):
        self.running = False
        self.sock.close()


def decode_scenario(root):
    def run():
        out = subprocess.run([os.path.join(root, ".build", "release", "plenum-bacnet-bench"), "2000000"],
                             capture_output=True, text=True, timeout=300, check=True)
        return json.loads(out.stdout)
    return run


def cov_scenario(root, Hub, write_config, tick_ms, points=500, seconds=20):
    def run():
        controller = Controller(points)
        try:
            with tempfile.TemporaryDirectory() as d:
                device = {
                    "name": "ctrl", "script": "plugins/bacnet_device.lua", "prefix": "/bench/bacnet",
                    "params": {
                        "device": f"127.0.0.1:{controller.port}", "port": 0, "bind": "127.0.0.1",
                        "cov_lifetime": 300, "timeout": 1,
                        "points": [{"object": f"analog-input:{i}", "channel": f"p{i}", "cov": True}
                                   for i in range(1, points + 1)],
                    },
                }
                config = write_config(d, tick_ms, [device])
                shutil.copy(os.path.join(root, "plugins", "bacnet_device.lua"), os.path.join(d, "plugins"))
                hub = Hub(config)
                try:
                    watcher = Watcher(hub.port, "/bench/bacnet/**")
                    deadline = time.time() + 60
                    while len(controller.subscribed) < points and time.time() < deadline:
                        time.sleep(0.1)
                    time.sleep(1)
                    cpu0, t0 = hub.cpu_seconds(), time.monotonic()
                    controller.run_changes(seconds)
                    cpu1, t1 = hub.cpu_seconds(), time.monotonic()
                    time.sleep(1)
                    watcher.close()
                    latencies = sorted((watcher.arrived[k] - sent) / 1000 for k, sent in controller.sent.items()
                                       if k in watcher.arrived)
                    received = len(latencies)
                    q = statistics.quantiles(latencies, n=100) if received > 100 else [0] * 99
                    return {
                        "points": points, "tick_ms": tick_ms, "notifications_sent": len(controller.sent),
                        "updates_received": received, "hub_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
                        "latency_us": {"p50": q[49], "p99": q[98], "max": latencies[-1] if latencies else 0},
                        "rss_kib": hub.rss_kib(),
                    }
                finally:
                    hub.stop()
        finally:
            controller.close()
    return run
