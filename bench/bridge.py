"""MQTT bridge scenarios for bench/run.py (docs/performance.md, "MQTT bridge").

- bridge-throughput-qos0 / -qos1: plugins/bridge_burst.lua publishes 10,000 channels
  round-robin at 300,000 publishes/s (more than the bridge can send, less than a whole core, so
  the publisher leaves the bridge and the broker room on 2 cores); the bridge forwards them to a mosquitto on
  loopback (started here, Debian's `mosquitto`). Reports the messages the broker acknowledged
  per second (QoS 1: PUBACKs; QoS 0: written to the socket), the versions conflated because the
  bridge was behind, and the CPU of the bridge's two threads (its own and libmosquitto's
  network thread) per message, and of the broker.
- bridge-plant-off / -qos0 / -qos1: the plant scenario's 10,000 channels at 1 Hz (10 devices of
  plugins/plant_units.lua), no WebSocket clients, with no bridge and with one; the hub's CPU
  (% of one core) over 15 s, so the bridge's added CPU is the difference between the runs.
"""

import json
import os
import socket
import subprocess
import tempfile
import time

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, directory):
        self.port = free_port()
        conf = os.path.join(directory, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\n")
        self.process = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("mosquitto did not start")

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.kill()
        self.process.wait()


def thread_cpu(pid, prefixes=("mqtt-", "mosquitto loop")):
    """CPU seconds of the threads of `pid` whose name starts with one of `prefixes` (the
    bridge's own thread and libmosquitto's network thread)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith(prefixes):
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def bridge_yaml(port, qos, include="/bench/**", max_inflight=100):
    return (f"bridges:\n  - name: bench\n    host: 127.0.0.1\n    port: {port}\n    qos: {qos}\n"
            f"    include: [\"{include}\"]\n    max_inflight: {max_inflight}\n")


def throughput_scenario(hub_class, write_config, qos, duration=10, max_inflight=100, rate=300000):
    def run():
        with tempfile.TemporaryDirectory() as d:
            broker = Broker(d)
            try:
                config = write_config(d, 10, [{"name": "burst", "script": "plugins/bridge_burst.lua",
                                               "prefix": "/bench/burst",
                                               "params": {"channels": 10000, "seconds": duration + 6, "delay": 1,
                                                          "rate": rate}}])
                with open(config, "a") as f:
                    f.write(bridge_yaml(broker.port, qos, max_inflight=max_inflight))
                hub = hub_class(config)
                try:
                    time.sleep(4)  # start-up, the script's delay, the first snapshot
                    s0 = hub.get("/api/channels/plenum/bridges/bench/status")["value"]
                    t0, b0, h0, m0 = time.time(), thread_cpu(hub.pid), hub.cpu_seconds(), broker.cpu_seconds()
                    time.sleep(duration)
                    s1 = hub.get("/api/channels/plenum/bridges/bench/status")["value"]
                    t1, b1, h1, m1 = time.time(), thread_cpu(hub.pid), hub.cpu_seconds(), broker.cpu_seconds()
                finally:
                    hub.stop()
            finally:
                broker.stop()
        sent = s1["sent"] - s0["sent"]
        elapsed = t1 - t0
        return {
            "msgs_per_s": round(sent / elapsed),
            "conflated_per_s": round((s1["conflated"] - s0["conflated"]) / elapsed),
            "bridge_cpu_us_per_msg": round((b1 - b0) / max(sent, 1) * 1e6, 2),
            "bridge_cpu_pct": round((b1 - b0) / elapsed * 100, 1),
            "hub_cpu_pct": round((h1 - h0) / elapsed * 100, 1),
            "broker_cpu_pct": round((m1 - m0) / elapsed * 100, 1),
            "max_inflight": max_inflight,
            "offered_per_s": rate,
        }
    return run


def plant_scenario(hub_class, write_config, qos, duration=15):
    """qos None: no bridge."""
    def run():
        with tempfile.TemporaryDirectory() as d:
            broker = Broker(d) if qos is not None else None
            try:
                devices = [{"name": f"units-{k}", "script": "plugins/plant_units.lua", "prefix": f"/bench/units-{k}",
                            "params": {"first": k * 50 + 1, "units": 50, "points": 20, "period": 1}}
                           for k in range(10)]
                config = write_config(d, 10, devices)
                if broker:
                    with open(config, "a") as f:
                        f.write(bridge_yaml(broker.port, qos, include="/plant/**"))
                hub = hub_class(config)
                try:
                    time.sleep(5)
                    t0, h0, b0 = time.time(), hub.cpu_seconds(), thread_cpu(hub.pid)
                    m0 = broker.cpu_seconds() if broker else 0
                    s0 = hub.get("/api/channels/plenum/bridges/bench/status")["value"] if broker else None
                    time.sleep(duration)
                    t1, h1, b1 = time.time(), hub.cpu_seconds(), thread_cpu(hub.pid)
                    m1 = broker.cpu_seconds() if broker else 0
                    s1 = hub.get("/api/channels/plenum/bridges/bench/status")["value"] if broker else None
                    rss = hub.rss_kib()
                finally:
                    hub.stop()
            finally:
                if broker:
                    broker.stop()
        elapsed = t1 - t0
        result = {"hub_cpu_pct": round((h1 - h0) / elapsed * 100, 1), "rss_mib": round(rss / 1024, 1)}
        if broker:
            result.update({
                "msgs_per_s": round((s1["sent"] - s0["sent"]) / elapsed),
                "bridge_threads_cpu_pct": round((b1 - b0) / elapsed * 100, 1),
                "broker_cpu_pct": round((m1 - m0) / elapsed * 100, 1),
            })
        return result
    return run
