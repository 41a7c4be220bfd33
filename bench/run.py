#!/usr/bin/env python3
"""Plenum benchmarks: `make bench` (release build). Each scenario starts the hub on a generated
hub.yaml, drives it with the plenum-loadgen process, reads the hub's CPU and RSS from /proc,
and writes JSON to bench/results/. Runs each scenario RUNS times and reports medians.

Usage: bench/run.py [--runs N] [--quick] [SCENARIO...]
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLENUM = os.path.join(ROOT, ".build", "release", "plenum")
LOADGEN = os.path.join(ROOT, ".build", "release", "plenum-loadgen")
TRENDBENCH = os.path.join(ROOT, ".build", "release", "plenum-trendbench")
RESULTS = os.path.join(ROOT, "bench", "results")
PLUGINS = os.path.join(ROOT, "bench", "plugins")


def write_config(directory, tick_ms, devices, extra_server="", extra=""):
    """The hub.yaml of a scenario; HUB_SERVER_YAML in the environment adds `server:` keys to every
    scenario's (e.g. `HUB_SERVER_YAML="direct_sends: false"` for an A/B of the fast send path)."""
    lines = ["server:", "  host: 127.0.0.1", "  port: 0", f"  tick_ms: {tick_ms}", "  max_connections: 20000"]
    lines += ["  " + l for l in (extra_server + "\n" + os.environ.get("HUB_SERVER_YAML", "")).splitlines() if l]
    lines += [l for l in extra.splitlines() if l]
    lines.append("devices:" if devices else "devices: []")
    for d in devices:
        lines += [f"  - name: {d['name']}", f"    script: {d['script']}", f"    prefix: {d['prefix']}"]
        if d.get("params"):
            lines.append("    params: " + json.dumps(d["params"]))
        lines.append("    limits: {cpu_guard_s: 30}")
    path = os.path.join(directory, "hub.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.makedirs(os.path.join(directory, "plugins"), exist_ok=True)
    for name in os.listdir(PLUGINS):
        shutil.copy(os.path.join(PLUGINS, name), os.path.join(directory, "plugins", name))
    return path


class Hub:
    def __init__(self, config):
        self.process = subprocess.Popen(
            [PLENUM, "run", "--config", config, "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            line = self.process.stdout.readline()
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.stop()
            raise RuntimeError("hub did not start")

    @property
    def pid(self):
        return self.process.pid

    def get(self, path):
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
            return json.loads(r.read())

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    def write_bytes(self):
        """Bytes this process caused to be written to storage (/proc/PID/io), WAL checkpoints included."""
        with open(f"/proc/{self.pid}/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def loadgen(hub, connections, patterns, duration, warmup=2.0, token=None):
    out = subprocess.run(
        [LOADGEN, "--port", str(hub.port), "--connections", str(connections), "--patterns", patterns,
         "--duration", str(duration), "--warmup", str(warmup), "--server-pid", str(hub.pid)]
        + (["--token", token] if token else []),
        capture_output=True, text=True, timeout=duration + warmup + 300,
    )
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: " + out.stderr[-2000:])
    return json.loads(out.stdout)


def pump_scenario(tick_ms, clients, rate_hz, channels=1, duration=10, patterns="/bench/pump/**"):
    def run():
        with tempfile.TemporaryDirectory() as d:
            config = write_config(d, tick_ms, [{"name": "pump", "script": "plugins/pump.lua", "prefix": "/bench/pump",
                                                "params": {"rate_hz": rate_hz, "channels": channels}}])
            hub = Hub(config)
            try:
                return loadgen(hub, clients, patterns, duration)
            finally:
                hub.stop()
    return run


PLANT_10K = [{"name": f"units-{k}", "script": "plugins/plant_units.lua", "prefix": f"/bench/units-{k}",
              "params": {"first": k * 50 + 1, "units": 50, "points": 20, "period": 1}} for k in range(10)]


def trends_yaml(raw=False):
    return "trends:\n  enabled: true\n  path: trends.db\n" + ("  raw: true\n" if raw else "")


# Tokens of the plant-auth scenario: the unit clients read /plant/**, the dashboards subscribe to
# /** but may read only /plant/** (so the per-channel check filters the /plenum status channels).
BENCH_TOKENS = {"units": "bench-units-token-0123456789abcdefghijklmnopq",
                "dash": "bench-dash-token-0123456789abcdefghijklmnopqrs"}


def auth_yaml():
    import hashlib
    text = "auth:\n  tokens:\n"
    for name, secret in BENCH_TOKENS.items():
        text += (f"    - name: {name}\n      hash: sha256:{hashlib.sha256(secret.encode()).hexdigest()}\n"
                 f"      read: [/plant/**]\n")
    return text


def plant(duration=15, trends=False, auth=False):
    """The plant: 10 devices × 50 units × 20 points at 1 Hz, 1,000 clients on one unit each and
    10 dashboards on /**; with `auth`, every client holds a token (per-channel ACL on)."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            devices = PLANT_10K
            extra = (trends_yaml() if trends else "") + (auth_yaml() if auth else "")
            config = write_config(d, 10, devices, extra=extra)
            hub = Hub(config)
            try:
                patterns = ",".join(f"/plant/unit-{u}/**" for u in range(1, 501))
                token = ["--token", BENCH_TOKENS["units"]] if auth else []
                main = subprocess.Popen(
                    [LOADGEN, "--port", str(hub.port), "--connections", "1000", "--patterns", patterns,
                     "--duration", str(duration), "--warmup", "3", "--server-pid", str(hub.pid)] + token,
                    stdout=subprocess.PIPE, text=True)
                dash = loadgen(hub, 10, "/**", duration, warmup=3, token=BENCH_TOKENS["dash"] if auth else None)
                result = json.loads(main.communicate(timeout=duration + 300)[0])
                result["dashboards"] = {k: dash[k] for k in ("messages", "msgs_per_s", "latency_us")}
                return result
            finally:
                hub.stop()
    return run


def wait_for_second(second):
    """Sleeps until the wall clock's seconds reach `second` (so a window spans whole minutes)."""
    while int(time.time()) % 60 != second:
        time.sleep(0.2)


def trend_writer(trends, raw=False, minutes=3, config=None):
    """Hub CPU and bytes written to disk over whole minutes (the trend store writes once a
    minute), measured from /proc after the first minute, extrapolated to a day."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            if config:
                shutil.copy(os.path.join(ROOT, config), os.path.join(d, "hub.yaml"))
                shutil.copytree(os.path.join(ROOT, "plugins"), os.path.join(d, "plugins"))
                path = os.path.join(d, "hub.yaml")
                with open(path) as f:
                    text = f.read().replace("  port: 8080", "  port: 0")
                with open(path, "w") as f:
                    f.write(text)
            else:
                path = write_config(d, 10, PLANT_10K, extra=trends_yaml(raw) if trends else "")
            hub = Hub(path)
            try:
                time.sleep(5)
                wait_for_second(5)  # a few seconds after the first minute's write
                cpu0, bytes0, t0 = hub.cpu_seconds(), hub.write_bytes(), time.time()
                time.sleep(minutes * 60)
                cpu1, bytes1, t1 = hub.cpu_seconds(), hub.write_bytes(), time.time()
                seconds = t1 - t0
                db = os.path.join(d, "trends.db")
                size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
                channels = len(hub.get("/api/channels")["channels"])
                return {"channels": channels, "window_s": seconds, "hub_cpu_pct": 100 * (cpu1 - cpu0) / seconds,
                        "write_bytes_per_s": (bytes1 - bytes0) / seconds,
                        "write_mb_per_day": (bytes1 - bytes0) / seconds * 86400 / 1e6,
                        "db_bytes": size, "rss_kib": hub.rss_kib()}
            finally:
                hub.stop()
    return run


_filled = {}


def filled_database(channels=1000, days=30):
    """A trend database of `days` of per-minute aggregates for `channels` channels, written through
    the store's own writing code (plenum-trendbench fill); made once per bench run."""
    key = (channels, days)
    if key not in _filled:
        directory = tempfile.mkdtemp(prefix="plenum-trendbench-")
        path = os.path.join(directory, "trends.db")
        out = subprocess.run([TRENDBENCH, "fill", "--path", path, "--channels", str(channels), "--days", str(days)],
                             capture_output=True, text=True, check=True, timeout=3600)
        _filled[key] = (directory, path, json.loads(out.stdout))
    return _filled[key]


def history_query(channels=1000, days=30, runs=200):
    """p50/p99 of a 24 h per-minute query of one (random) channel in a database holding `days` for
    `channels` channels: through the store (query thread, no HTTP), then over HTTP from a hub
    running on that database (JSON encoding and the request included)."""
    def run():
        directory, path, fill = filled_database(channels, days)
        store = json.loads(subprocess.run(
            [TRENDBENCH, "query", "--path", path, "--channels", str(channels), "--runs", str(runs)],
            capture_output=True, text=True, check=True, timeout=600).stdout)
        config = write_config(directory, 10, [], extra=f"trends:\n  enabled: true\n  path: {path}\n")
        hub = Hub(config)
        try:
            import random
            import urllib.request
            latencies = []
            for i in range(runs + 5):
                c = random.randrange(channels)
                url = (f"http://127.0.0.1:{hub.port}/api/history/bench/unit-{c // 20}/point-{c % 20}"
                       f"?from=-24h&step=1m")
                started = time.perf_counter()
                with urllib.request.urlopen(url, timeout=30) as r:
                    body = r.read()
                if i >= 5:
                    latencies.append((time.perf_counter() - started) * 1000)
            latencies.sort()
            return {"fill_rows": fill["rows"], "fill_rows_per_s": fill["rows_per_s"],
                    "db_bytes": os.path.getsize(path),
                    "store": store,
                    "http": {"p50_ms": latencies[len(latencies) // 2],
                             "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                             "response_bytes": len(body)}}
        finally:
            hub.stop()
    return run


def brute_force(rate=1000, duration=10):
    """`rate` requests a second with wrong tokens (GET /api/channels, Bearer, keep-alive) against a
    hub with tokens: the hub's CPU over the run and the log lines it wrote about them."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            config = write_config(d, 10, [], extra=auth_yaml())
            process = subprocess.Popen(
                [PLENUM, "run", "--config", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                port = None
                deadline = time.time() + 30
                while port is None and time.time() < deadline:
                    m = re.search(r"listening on http://[^:]+:(\d+)", process.stdout.readline())
                    port = int(m.group(1)) if m else None
                hub = type("H", (), {"pid": process.pid})()
                cpu0 = Hub.cpu_seconds(hub)
                sock = socket.create_connection(("127.0.0.1", port))
                start = time.monotonic()
                sent = 0
                for i in range(rate * duration):
                    sock.sendall(f"GET /api/channels HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {os.urandom(32).hex()}\r\n\r\n".encode())
                    data = b""
                    while b"}" not in data:
                        data += sock.recv(4096)
                    sent += 1
                    pause = start + (i + 1) / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                elapsed = time.monotonic() - start
                cpu = Hub.cpu_seconds(hub) - cpu0
                sock.close()
                time.sleep(1.5)
            finally:
                process.send_signal(signal.SIGTERM)
                output = process.communicate(timeout=20)[0]
            lines = [l for l in output.splitlines() if "since the last report" in l]
            return {"attempts": sent, "seconds": round(elapsed, 2), "attempts_per_s": round(sent / elapsed),
                    "hub_cpu_s": round(cpu, 3), "hub_cpu_pct": round(100 * cpu / elapsed, 1),
                    "cpu_us_per_attempt": round(1e6 * cpu / sent, 1), "log_lines": len(lines)}
    return run


def idle_connections(count=10000, idle_seconds=10):
    def run():
        with tempfile.TemporaryDirectory() as d:
            config = write_config(d, 10, [])
            hub = Hub(config)
            try:
                rss0 = hub.rss_kib()
                result = loadgen(hub, count, "/nothing/**", idle_seconds, warmup=1)
                result["server_rss_kib_before"] = rss0
                result["server_rss_kib_per_connection"] = (result["server_rss_kib"] - rss0) / count
                return result
            finally:
                hub.stop()
    return run


def lua_publish_rate(subscribers, trends=False):
    def run():
        with tempfile.TemporaryDirectory() as d:
            config = write_config(d, 10, [{"name": "rate", "script": "plugins/publish_rate.lua", "prefix": "/bench/rate",
                                           "params": {"seconds": 3, "delay": 3 if subscribers else 0.5}}],
                                  extra=trends_yaml() if trends else "")
            hub = Hub(config)
            try:
                if subscribers:
                    lg = subprocess.Popen(
                        [LOADGEN, "--port", str(hub.port), "--connections", str(subscribers),
                         "--patterns", "/bench/rate/value", "--duration", "6", "--warmup", "0.5"],
                        stdout=subprocess.PIPE, text=True)
                deadline = time.time() + 30
                while time.time() < deadline:
                    try:
                        rate = hub.get("/api/channels/bench/rate/rate")["value"]
                        break
                    except Exception:
                        time.sleep(0.2)
                status = hub.get("/api/channels/plenum/devices/rate/status")["value"]
                if subscribers:
                    lg.communicate(timeout=60)
                return {"publishes_per_s": rate, "subscribers": subscribers, "device_state": status["state"]}
            finally:
                hub.stop()
    return run


def edge_footprint(settle_seconds=60):
    def run():
        # Start → first update at a client that keeps trying to connect.
        config = os.path.join(ROOT, "hub.yaml")
        port = free_port()
        started = time.time()
        process = subprocess.Popen([PLENUM, "run", "--config", config, "--port", str(port), "--log-level", "warning"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_update_ms = None
        try:
            first_update_ms = first_update(port, started)
            time.sleep(settle_seconds)
            with open(f"/proc/{process.pid}/status") as f:
                rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
        stripped = os.path.join(tempfile.gettempdir(), "plenum-stripped")
        shutil.copy(PLENUM, stripped)
        subprocess.run(["strip", stripped], check=True)
        size = os.path.getsize(stripped)
        os.remove(stripped)
        return {"idle_rss_kib": rss, "settle_seconds": settle_seconds, "start_to_first_update_ms": first_update_ms,
                "stripped_binary_bytes": size}
    return run


VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


def modbus_peer(kind, directory):
    """A Modbus TCP peer on a free port: "hub" (hub.modbus.serve in another hub process, C
    libmodbus underneath) or "pymodbus" (Tests/Peers/modbus_peer.py). Returns (process, port,
    pid, address of 100 free holding registers)."""
    port = free_port()
    if kind == "hub":
        sub = os.path.join(directory, "peer")
        os.makedirs(sub)
        config = write_config(sub, 10, [{"name": "peer", "script": "plugins/modbus_serve.lua", "prefix": "/bench/peer",
                                         "params": {"port": port}}])
        peer = Hub(config)
        address = 0
    else:
        peer = subprocess.Popen([VENV_PYTHON, os.path.join(ROOT, "Tests", "Peers", "modbus_peer.py"), "tcp", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if '"ready": true' not in peer.stdout.readline():
            raise RuntimeError("pymodbus peer did not start")
        address = 100
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return peer, port, address


def process_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_peer(peer):
    if isinstance(peer, Hub):
        peer.stop()
    else:
        peer.kill()
        peer.wait()


def modbus_cycle(peer_kind, cycles=3000):
    """One poll cycle of 100 holding registers over loopback TCP, repeated."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            peer, port, address = modbus_peer(peer_kind, d)
            peer_pid = peer.pid
            try:
                config = write_config(d, 10, [{"name": "cycle", "script": "plugins/modbus_cycle.lua",
                                                "prefix": "/bench/cycle",
                                                "params": {"port": port, "cycles": cycles, "address": address}}])
                hub = Hub(config)
                try:
                    peer_cpu0 = process_cpu(peer_pid)
                    deadline = time.time() + 120
                    result = None
                    while time.time() < deadline and result is None:
                        time.sleep(0.2)
                        try:
                            result = hub.get("/api/channels/bench/cycle/result")["value"]
                        except Exception:
                            pass
                    if result is None:
                        raise RuntimeError("the cycle benchmark published no result")
                    peer_cpu = process_cpu(peer_pid) - peer_cpu0
                    # Peer CPU per request, over the measured and the warm-up cycles.
                    result["peer"] = peer_kind
                    result["peer_cpu_us_per_request"] = round(peer_cpu / (2 * cycles + 100) * 1e6, 1)
                    result["hub_cpu_us_per_register"] = round(result["hub_cpu_us_per_cycle"] / result["registers"], 2)
                    result["hub_cpu_per_register_over_request_p50"] = round(
                        result["hub_cpu_us_per_cycle"] / result["registers"] / result["request_p50_us"], 4)
                    result["hub_cpu_per_request_over_request_p50"] = round(
                        result["hub_cpu_us_per_request"] / result["request_p50_us"], 3)
                    return result
                finally:
                    hub.stop()
            finally:
                stop_peer(peer)
    return run


def modbus_devices(devices=20, points=50, duration=20, peer_kind="hub"):
    """`devices` modbus_device.lua devices, `points` points each, polled at 1 Hz: hub CPU."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            peer, port, _ = modbus_peer(peer_kind, d)
            try:
                # A realistic map: 30 f32 holding points, 10 scaled u16 input points, 10 coils.
                pts = [{"name": f"t{i}", "table": "holding", "address": 2 * i, "type": "f32", "order": "CDAB"}
                       for i in range(30)]
                pts += [{"name": f"v{i}", "table": "input", "address": i, "scale": 0.1} for i in range(10)]
                pts += [{"name": f"c{i}", "table": "coil", "address": i} for i in range(points - 40)]
                specs = [{"name": f"meter-{k}", "script": "plugins/modbus_device.lua", "prefix": f"/bench/meter-{k}",
                          "params": {"host": "127.0.0.1", "port": port, "poll_s": 1, "points": pts}}
                         for k in range(devices)]
                config = write_config(d, 10, specs)
                shutil.copy(os.path.join(ROOT, "plugins", "modbus_device.lua"), os.path.join(d, "plugins"))
                hub = Hub(config)
                try:
                    time.sleep(3)
                    online = sum(1 for k in range(devices)
                                 if hub.get(f"/api/channels/bench/meter-{k}/modbus/link")["value"] == "online")
                    cpu0, peer0, t0 = hub.cpu_seconds(), process_cpu(peer.pid), time.time()
                    v0 = hub.get("/api/channels/bench/meter-0/t0")["version"]
                    time.sleep(duration)
                    elapsed = time.time() - t0
                    polls = hub.get("/api/channels/bench/meter-0/t0")["version"] - v0
                    cpu = hub.cpu_seconds() - cpu0
                    return {"devices": devices, "points_per_device": points, "online": online,
                            "seconds": round(elapsed, 1), "polls_per_device": polls,
                            "hub_cpu_pct_of_core": round(cpu / elapsed * 100, 2),
                            "hub_cpu_us_per_point_read": round(cpu / (devices * points * polls) * 1e6, 2),
                            "peer": peer_kind,
                            "peer_cpu_pct_of_core": round((process_cpu(peer.pid) - peer0) / elapsed * 100, 2),
                            "hub_rss_kib": hub.rss_kib()}
                finally:
                    hub.stop()
            finally:
                stop_peer(peer)
    return run


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def first_update(port, started):
    """A raw client that retries connecting until it sees the first update; ms since start."""
    import base64
    key = base64.b64encode(os.urandom(16)).decode()
    while time.time() - started < 30:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.001)
            continue
        s.sendall((f"GET /ws/plant/** HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        data = b""
        while time.time() - started < 30:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b'"type":"update"' in data or b'"type":"snapshot","channels":[{' in data:
                s.close()
                return (time.time() - started) * 1000
        s.close()
    return None


SCENARIOS = {
    "seed-10hz-tick10": pump_scenario(10, 1000, 10),
    "seed-10hz-tick100": pump_scenario(100, 1000, 10),
    "seed-10hz-tick0": pump_scenario(0, 1000, 10),
    "seed-1khz-tick10": pump_scenario(10, 1000, 1000),
    "seed-1khz-tick100": pump_scenario(100, 1000, 1000),
    "seed-1khz-tick0": pump_scenario(0, 1000, 1000),
    "seed-1client-100hz-tick0": pump_scenario(0, 1, 100),
    "fanout-ceiling": pump_scenario(0, 1000, 0),
    "batch": pump_scenario(10, 1000, 100, channels=10),
    "overload": pump_scenario(10, 1000, 10000, duration=60),
    "plant": plant(),
    "plant-auth": plant(auth=True),
    "auth-brute-force": brute_force(),
    "plant-trends": plant(trends=True),
    "trends-10k-off": trend_writer(False),
    "trends-10k-aggregates": trend_writer(True),
    "trends-10k-raw": trend_writer(True, raw=True),
    "trends-shipped-plant": trend_writer(True, config="hub.yaml"),
    "history-query": history_query(),
    "connections": idle_connections(),
    "lua-0-subscribers": lua_publish_rate(0),
    "lua-0-subscribers-trends": lua_publish_rate(0, trends=True),
    "lua-1000-subscribers": lua_publish_rate(1000),
    "edge-footprint": edge_footprint(),
    "modbus-cycle-100-hub-peer": modbus_cycle("hub"),
    "modbus-cycle-100-pymodbus-peer": modbus_cycle("pymodbus", cycles=1000),
    "modbus-20-devices-50-points": modbus_devices(),
}

# BACnet/IP: decoding cost, and a 500-point COV controller (bench/bacnet.py).
import bacnet  # noqa: E402

SCENARIOS["bacnet-decode"] = bacnet.decode_scenario(ROOT)
SCENARIOS["bacnet-cov-500-tick0"] = bacnet.cov_scenario(ROOT, Hub, write_config, 0)
SCENARIOS["bacnet-cov-500-tick10"] = bacnet.cov_scenario(ROOT, Hub, write_config, 10)

# Writes: the round trip client -> script -> ack -> client (bench/writes.py).
import writes as write_bench  # noqa: E402

SCENARIOS["write-round-trip"] = write_bench.round_trip_scenario(ROOT, Hub, write_config, "ws")
SCENARIOS["write-round-trip-rest"] = write_bench.round_trip_scenario(ROOT, Hub, write_config, "rest")
SCENARIOS["write-round-trip-modbus"] = write_bench.modbus_round_trip_scenario(ROOT, Hub, write_config)

# The MQTT bridge: throughput to a local mosquitto, and its share of the plant's CPU (bench/bridge.py).
import bridge  # noqa: E402

SCENARIOS["bridge-throughput-qos0"] = bridge.throughput_scenario(Hub, write_config, 0)
SCENARIOS["bridge-throughput-qos1"] = bridge.throughput_scenario(Hub, write_config, 1)
SCENARIOS["bridge-throughput-qos1-window1000"] = bridge.throughput_scenario(Hub, write_config, 1, max_inflight=1000)
SCENARIOS["bridge-plant-off"] = bridge.plant_scenario(Hub, write_config, None)
SCENARIOS["bridge-plant-qos0"] = bridge.plant_scenario(Hub, write_config, 0)
SCENARIOS["bridge-plant-qos1"] = bridge.plant_scenario(Hub, write_config, 1)

# The floor side by side (issue 14): ../shared/bench/floor.c, then the hub, each run (bench/floor.py).
import floor  # noqa: E402

for _name in floor.CASES:
    SCENARIOS[_name] = floor.scenario(_name, ROOT, Hub, write_config, free_port, LOADGEN)


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("scenarios", nargs="*")
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    summary = {"machine": machine(), "runs": args.runs, "started": stamp, "scenarios": {}}
    for name in names:
        runs = []
        for i in range(args.runs):
            print(f"{name}: run {i + 1}/{args.runs}", file=sys.stderr, flush=True)
            runs.append(SCENARIOS[name]())
        summary["scenarios"][name] = {"runs": runs, "median": medians(runs)}
        print(json.dumps({name: summary["scenarios"][name]["median"]}), flush=True)
        # Written after every scenario, so an interrupted run keeps what it measured.
        path = os.path.join(RESULTS, f"bench-{stamp}.json")
        with open(path, "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    print(f"results: {path}", file=sys.stderr)
    ratios = floor.table(summary)
    if ratios:
        print("\nThe floor side by side (hub / floor, medians of the runs):\n" + ratios, file=sys.stderr)
    for directory, _, _ in _filled.values():
        shutil.rmtree(directory, ignore_errors=True)


def medians(runs):
    """Median of every numeric field (nested one level), over the runs."""
    out = {}
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = statistics.median(r[key] for r in runs)
        elif isinstance(value, dict):
            out[key] = {k: statistics.median(r[key][k] for r in runs) for k, v in value.items()
                        if isinstance(v, (int, float)) and r_has(runs, key, k)}
    return out


def r_has(runs, key, k):
    return all(isinstance(r.get(key, {}).get(k), (int, float)) for r in runs)


if __name__ == "__main__":
    main()
