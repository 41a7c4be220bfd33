#!/usr/bin/env python3
"""The soak test (`make soak`; docs/reliability.md, "Soak").

Runs the shipped plant (hub.yaml and plugins/, copied to a temporary directory, the simulated
Modbus controller moved to a free loopback port) on the release `plenum` binary with `--port 0`,
plus a device that fails every few seconds (Tests/Soak/flaky.lua), for SOAK_SECONDS (default 600)
under load:

- 2,000 WebSocket clients with churn (`plenum-loadgen soak`: connect, subscribe, unsubscribe,
  ping, leave by close handshake, FIN or reset, reconnect), each checking every message it gets;
- one client that never reads and keeps subscribing to everything (it must be closed with 4008,
  and it reconnects);
- one HTTP client that pipelines 200 `GET /api/channels` at a time and reads them late;
- SIGHUP every 30 s (hub.yaml rewritten: the failing device replaced) and a script edit every
  20 s (plugins/ahu.lua, replaced by rename as editors do: both air handlers reload).

It samples the hub's RSS and open file descriptors every 5 s. At the end it stops the churn,
stops publishing (a SIGHUP to a hub.yaml without devices), waits until `/api/channels` no longer
changes, and has every live client compare what it holds with it. It then stops the hub with
SIGTERM. Checks (exit 1 if any fails):

- the hub never died, and exits 0 on SIGTERM;
- after the warm-up (WARMUP_SECONDS, 120), every sample of RSS and of the fd count is within
  ±10 % of their median over the minute after the warm-up;
- every live client holds exactly the version `/api/channels` lists of every channel its
  subscriptions match, no client saw a broken promise (versions going back, a channel it did not
  subscribe to, an unasked close), and the hub closed no client except the never-reading one;
- the never-reading client was closed with 4008 at least once; the pipelining client got every
  response; the failing device failed and was restarted.

Usage: soak.py [--seconds N] [--clients N] [--plenum PATH] [--loadgen PATH] [--keep]
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PATTERNS = [
    "/plant/**", "/plant/line1/**", "/plant/line2/**", "/plant/*/*/supply_temp",
    "/plant/line1/chiller-1/*", "/plant/line2/chiller-2/predictor/*", "/plenum/devices/*/status",
    "/plant/line1/ahu-1/supply_temp", "/plant/line2/chiller-2/supply_temp", "/soak/**",
    "/soak/flaky/counter", "/plant/line9/nothing/**", "/**",
]
SAMPLE_EVERY = 5
HUP_EVERY = 30
EDIT_EVERY = 20


def log(message):
    print(f"soak: {message}", flush=True)


def free_port():
    """A loopback TCP port nobody listens on (bound and released, as RunCommandTests does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_atomically(path, text):
    """As editors save: a new file renamed over the old one."""
    temporary = path + ".soak-tmp"
    with open(temporary, "w") as f:
        f.write(text)
    os.replace(temporary, path)


class Plant:
    """The shipped plant in a temporary directory, with the failing device added."""

    def __init__(self, directory):
        self.directory = directory
        shutil.copytree(os.path.join(ROOT, "plugins"), os.path.join(directory, "plugins"))
        shutil.copy(os.path.join(ROOT, "Tests/Soak/flaky.lua"), os.path.join(directory, "plugins/flaky.lua"))
        shipped = open(os.path.join(ROOT, "hub.yaml")).read()
        if shipped.count("15020") < 2:
            raise SystemExit("soak: hub.yaml no longer serves and polls port 15020; update soak.py")
        self.modbus_port = free_port()
        self.base = shipped.replace("15020", str(self.modbus_port))
        self.generation = 0
        self.edits = 0
        self.ahu = open(os.path.join(directory, "plugins/ahu.lua")).read()
        self.write_config()

    @property
    def config(self):
        return os.path.join(self.directory, "hub.yaml")

    def write_config(self, devices=True):
        text = self.base
        if devices:
            text += (
                "\n  - name: flaky\n    script: plugins/flaky.lua\n    prefix: /soak/flaky\n"
                f"    params: {{ fail_after_s: 2, generation: {self.generation} }}\n"
                "    limits: { memory_mb: 4, cpu_guard_s: 0.5 }\n"
            )
        else:
            head = text[: text.index("\ndevices:")]
            text = head + "\ndevices: []\n"
        write_atomically(self.config, text)

    def next_generation(self):
        self.generation += 1
        self.write_config()

    def edit_script(self):
        self.edits += 1
        write_atomically(os.path.join(self.directory, "plugins/ahu.lua"), self.ahu + f"\n-- soak edit {self.edits}\n")


class Hub:
    def __init__(self, binary, plant, log_path):
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [binary, "run", "--config", "hub.yaml", "--port", "0"],
            cwd=plant.directory, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline and self.port is None:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on http://[^:]+:(\d+)", line)
            if match:
                self.port = int(match.group(1))
        if self.port is None:
            raise SystemExit(f"soak: the hub did not start (log: {log_path})")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def get(self, path, timeout=10):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
            return response.read()

    def channels(self):
        return json.loads(self.get("/api/channels"))

    def metric(self, name, labels=""):
        text = self.get("/metrics").decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and labels in line and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def sample(self):
        status = open(f"/proc/{self.pid}/status").read()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
        fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        return rss, fds, threads


class Loadgen:
    def __init__(self, binary, port, clients, lifetime):
        self.process = subprocess.Popen(
            [binary, "soak", "--port", str(port), "--clients", str(clients), "--patterns", ",".join(PATTERNS),
             "--min-lifetime", str(lifetime[0]), "--max-lifetime", str(lifetime[1])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("soak: the load generator died")
        return json.loads(line)

    def quit(self):
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()


def mask(payload):
    key = os.urandom(4)
    header = bytes([0x81])
    n = len(payload)
    header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126, n >> 8, n & 0xFF])
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class NeverReader(threading.Thread):
    """A WebSocket client that never reads and asks for a snapshot of everything 20 times a second."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.connections = 0
        self.ended = 0
        self.sent = 0

    def run(self):
        subscribe = mask(b'{"op":"subscribe","channels":["/**"]}')
        while not self.stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                time.sleep(1)
                continue
            self.connections += 1
            s.settimeout(1)
            try:
                s.sendall(
                    b"GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                while not self.stop.is_set():
                    try:
                        s.sendall(subscribe)
                        self.sent += 1
                    except socket.timeout:
                        pass  # the hub stopped reading: it is closing us
                    time.sleep(0.05)
            except OSError:
                self.ended += 1  # reset by the hub after its 4008 went unread
            finally:
                s.close()
            time.sleep(1)


class Pipeliner(threading.Thread):
    """An HTTP client that sends 200 pipelined requests, waits a second, then reads the answers."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.rounds = 0
        self.responses = 0
        self.failures = []

    def run(self):
        request = b"GET /api/channels HTTP/1.1\r\nHost: soak\r\n\r\n"
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
                    reader = s.makefile("rb")
                    for _ in range(10):
                        if self.stop.is_set():
                            break
                        s.sendall(request * 200)
                        time.sleep(1)
                        for _ in range(200):
                            status = reader.readline()
                            length = None
                            while True:
                                line = reader.readline()
                                if line in (b"\r\n", b""):
                                    break
                                if line.lower().startswith(b"content-length:"):
                                    length = int(line.split(b":")[1])
                            if not status.startswith(b"HTTP/1.1 200") or length is None:
                                raise OSError(f"bad response: {status[:60]!r}")
                            body = reader.read(length)
                            if len(body) != length or not body.startswith(b'{"'):
                                raise OSError("short body")
                            self.responses += 1
                        self.rounds += 1
            except OSError as error:
                if not self.stop.is_set() and len(self.failures) < 5:
                    self.failures.append(str(error))
                time.sleep(1)


def flat(samples, warmup, index, tolerance=0.10):
    """(baseline, min, max, ok): samples after the warm-up against the median of their first minute."""
    after = [s for s in samples if s[0] >= warmup]
    first_minute = [s[index] for s in after if s[0] < warmup + 60]
    if not first_minute:
        return None, None, None, False
    baseline = statistics.median(first_minute)
    values = [s[index] for s in after]
    ok = all(abs(v - baseline) <= tolerance * baseline for v in values)
    return baseline, min(values), max(values), ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--warmup", type=int, default=int(os.environ.get("WARMUP_SECONDS", 120)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 2000)))
    parser.add_argument("--min-lifetime", type=float, default=20, help="shortest client lifetime, s")
    parser.add_argument("--max-lifetime", type=float, default=90, help="longest client lifetime, s")
    parser.add_argument("--plenum", default=os.path.join(ROOT, ".build/release/plenum"))
    parser.add_argument("--loadgen", default=os.path.join(ROOT, ".build/release/plenum-loadgen"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary plant and the hub's log")
    args = parser.parse_args()
    args.plenum, args.loadgen = os.path.abspath(args.plenum), os.path.abspath(args.loadgen)

    # 2,000 clients on each side of loopback, plus the hub's own: raise the soft fd limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    directory = tempfile.mkdtemp(prefix="plenum-soak-")
    plant = Plant(directory)
    hub_log = os.path.join(directory, "hub.log")
    hub = Hub(args.plenum, plant, hub_log)
    log(f"hub pid {hub.pid} on port {hub.port}, plant in {directory}, Modbus on {plant.modbus_port}")
    loadgen = Loadgen(args.loadgen, hub.port, args.clients, (args.min_lifetime, args.max_lifetime))
    stop = threading.Event()
    never = NeverReader(hub.port, stop)
    piper = Pipeliner(hub.port, stop)
    never.start()
    piper.start()

    samples = []  # (t, rss KiB, fds, threads, live clients)
    died_at = None
    start = time.monotonic()
    next_sample = next_hup = next_edit = 0
    hups = 0
    try:
        while True:
            t = time.monotonic() - start
            if t >= args.seconds:
                break
            if not hub.alive():
                died_at = t
                log(f"the hub died at {t:.0f} s with status {hub.process.returncode}")
                break
            if t >= next_sample:
                next_sample += SAMPLE_EVERY
                rss, fds, threads = hub.sample()
                status = loadgen.ask("status")
                samples.append((round(t), rss, fds, threads, status["live"]))
                if len(samples) % 6 == 1:
                    stats = status["stats"]
                    log(
                        f"{t:4.0f} s  RSS {rss / 1024:.1f} MiB  fds {fds}  threads {threads}  clients {status['live']}  "
                        f"connects {stats['connects']}  updates {stats['updates']}  violations {stats['violations']}"
                    )
            if t >= next_hup and t > 0:
                plant.next_generation()
                os.kill(hub.pid, signal.SIGHUP)
                hups += 1
            if t >= next_hup:
                next_hup += HUP_EVERY
            if t >= next_edit and t > 0:
                plant.edit_script()
            if t >= next_edit:
                next_edit += EDIT_EVERY
            time.sleep(0.2)

        result = {"seconds": args.seconds, "warmup": args.warmup, "clients": args.clients, "hups": hups,
                  "edits": plant.edits}
        if died_at is None:
            log("settling: churn stopped, waiting for every request to be answered")
            settled = loadgen.ask("settle")
            stop.set()
            never.join(10)
            piper.join(30)
            flaky_errors = hub.metric("plenum_device_errors_total", 'device="flaky"')
            slow_closes = hub.metric("plenum_ws_slow_consumer_closes_total")
            # Stop publishing: no devices, then wait until no channel moves for 2 s.
            plant.write_config(devices=False)
            os.kill(hub.pid, signal.SIGHUP)
            time.sleep(3)
            previous, stable_since, quiet = None, None, False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                current = {c["channel"]: c["version"] for c in hub.channels()["channels"]}
                if current == previous:
                    if time.monotonic() - stable_since >= 2:
                        quiet = True
                        break
                else:
                    previous, stable_since = current, time.monotonic()
                time.sleep(0.25)
            body = hub.get("/api/channels").decode()
            verified = loadgen.ask("verify " + body)
            hub.process.send_signal(signal.SIGTERM)
            try:
                exit_status = hub.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                exit_status = None
            result.update({
                "settled": settled, "verified": verified, "quiet": quiet, "exit_status": exit_status,
                "flaky_errors": flaky_errors, "slow_consumer_closes": slow_closes,
                "never_reader": {"connections": never.connections, "ended": never.ended, "sent": never.sent},
                "pipeliner": {"rounds": piper.rounds, "responses": piper.responses, "failures": piper.failures},
            })
    finally:
        stop.set()
        loadgen.quit()
        if hub.alive():
            hub.process.kill()
            hub.process.wait()

    result["samples"] = samples
    checks = []

    def check(name, ok, detail):
        checks.append((name, ok, detail))

    check("no crash", died_at is None and result.get("exit_status") == 0,
          f"exit status on SIGTERM: {result.get('exit_status')}" if died_at is None else f"died at {died_at:.0f} s")
    for label, index, unit in (("RSS", 1, "KiB"), ("fd count", 2, "")):
        baseline, low, high, ok = flat(samples, args.warmup, index)
        result[label] = {"baseline": baseline, "min": low, "max": high}
        check(f"{label} flat (±10 % after {args.warmup} s)", ok,
              f"median of the first minute {baseline} {unit}, then {low}–{high}")
    if died_at is None:
        verified, stats = result["verified"], result["verified"]["stats"]
        check("clients hold the latest versions",
              verified["exact"] and result["quiet"] and verified["live"] > 0 and verified["checked_pairs"] > 0,
              f"{verified['live']} live clients, {verified['checked_pairs']} (client, channel) pairs checked, "
              f"{verified['mismatched_clients']} clients off {verified['mismatches'][:3]}")
        check("no broken promise", stats["violations"] == 0 and stats["unexpected_closes"] == 0,
              f"{stats['violations']} violations, {stats['unexpected_closes']} unasked closes {stats['examples'][:3]}")
        check("the never-reading client is closed (4008)", result["slow_consumer_closes"] >= 1,
              f"{result['slow_consumer_closes']:.0f} slow-consumer closes, {never.connections} connections")
        check("the pipelining client is answered", piper.responses > 0 and not piper.failures,
              f"{piper.responses} responses in {piper.rounds} rounds, failures {piper.failures}")
        check("the failing device fails and restarts", result["flaky_errors"] >= 10,
              f"{result['flaky_errors']:.0f} errors")
        log(
            f"clients: {stats['connects']} connects, {stats['subscribes']} subscribes, {stats['unsubscribes']} "
            f"unsubscribes, {stats['pings']} pings, {stats['closes_sent']}/{stats['fin_closes']}/{stats['reset_closes']} "
            f"close/FIN/RST, {stats['updates']} updates, {stats['snapshots']} snapshots, "
            f"{stats['connect_failures']} failed connects"
        )
    log(f"{hups} SIGHUPs, {plant.edits} script edits")
    failed = [c for c in checks if not c[1]]
    for name, ok, detail in checks:
        log(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    result["checks"] = [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks]
    out = os.path.join(ROOT, ".build", "soak-result.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    log(f"figures in {out}; hub log {hub_log if args.keep or failed else '(removed)'}")
    if not args.keep and not failed:
        shutil.rmtree(directory, ignore_errors=True)
    log(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
