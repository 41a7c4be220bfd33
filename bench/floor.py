"""The floor side by side (issue 14): the leanest possible push server against the hub, same run.

`../shared/bench/floor.c` (next to the repository; see its README) is one thread, epoll, one
`send(MSG_DONTWAIT)` per connection per tick. With `-F plenum` it speaks the hub's wire format,
so plenum-loadgen measures it exactly as it measures the hub. Each run of a `floor-*` scenario
measures the floor, then the hub, with the same load generator, the same clients and the same
producer rate, and reports both and their ratios (hub / floor); `make bench` runs each scenario
RUNS times, so the two alternate and the medians come from interleaved runs.

- floor-ceiling: producer 10 kHz, tick 0 (every new version broadcast at once; both conflate
  once the sends cannot keep up): CPU per delivered message, msgs/s.
- floor-batch: 10 channels change per 10 ms tick (1,000 versions/s in all), one write per
  connection per tick carrying ~10 frames: CPU per delivered update.
- floor-slow: producer 10 Hz, tick 0: CPU per message far below the ceiling, latency.

Ratios: `cpu_ratio` = hub CPU per message / floor's; `msgs_ratio` = hub msgs/s / floor's;
`p99_ratio` = hub p99 latency / floor's. With HUB_NIO=1 in the environment each run also
measures the hub with `server.direct_sends: false` (every write through NIO, as before issue
14): the `nio_*` fields and `nio_cpu_ratio`. HUB_SERVER_YAML adds `server:` keys to the hub's
configuration (e.g. `HUB_SERVER_YAML="event_loops: 1"`). With PERF_STAT=1 in the environment (and `perf`
installed: the `linux-perf` package, BENCH_DEBS in the Makefile), each server also gets
`perf stat` over the measurement window: context switches, CPU migrations and the syscalls of
the send path, per delivered message.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

CASES = {
    # name: (floor arguments, hub tick_ms, pump rate_hz, pump channels)
    "floor-ceiling": (["-r", "10000", "-t", "0"], 0, 10000, 1),
    "floor-batch": (["-r", "1000", "-t", "10", "-k", "10"], 10, 100, 10),
    "floor-slow": (["-r", "10", "-t", "0"], 0, 10, 1),
}
CLIENTS = 1000
DURATION = 6.0
WARMUP = 2.0
PERF_EVENTS = ["context-switches", "cpu-migrations", "syscalls:sys_enter_write", "syscalls:sys_enter_writev",
               "syscalls:sys_enter_sendto", "syscalls:sys_enter_sendmsg", "syscalls:sys_enter_read",
               "syscalls:sys_enter_epoll_wait"]


def floor_source(root):
    """`../shared/bench/floor.c` next to the repository (FLOOR_C in the environment overrides it);
    in a git worktree, next to the main checkout too."""
    if os.environ.get("FLOOR_C"):
        return os.environ["FLOOR_C"]
    candidates = [os.path.join(root, "..", "shared", "bench", "floor.c")]
    try:
        common = subprocess.run(["git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, check=True).stdout.strip()
        candidates.append(os.path.join(os.path.dirname(common), "..", "shared", "bench", "floor.c"))
    except (OSError, subprocess.CalledProcessError):
        pass
    for candidate in candidates:
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return os.path.normpath(candidates[0])


def build_floor(root):
    """Builds .build/floor from ../shared/bench/floor.c when that is newer; None when it is absent."""
    source = floor_source(root)
    if not os.path.exists(source):
        return None
    binary = os.path.join(root, ".build", "floor")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        os.makedirs(os.path.dirname(binary), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-o", binary, source], check=True)
        subprocess.run([binary, "-T"], check=True, capture_output=True)
    return binary


def perf_stat(pid, seconds):
    """Starts `perf stat` on `pid` for `seconds`; None when not asked for or not available."""
    if os.environ.get("PERF_STAT") != "1" or shutil.which("perf") is None:
        return None
    return subprocess.Popen(["perf", "stat", "-x", ",", "-e", ",".join(PERF_EVENTS), "-p", str(pid),
                             "--", "sleep", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def perf_counts(process):
    if process is None:
        return {}
    _, err = process.communicate(timeout=60)
    counts = {}
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].strip().isdigit():
            counts[fields[2].replace("syscalls:sys_enter_", "")] = int(fields[0])
    return counts


def measure(server_pid, port, loadgen_binary):
    """plenum-loadgen against `port`, with perf stat over (about) the measurement window."""
    started = time.time()
    out = subprocess.Popen(
        [loadgen_binary, "--port", str(port), "--connections", str(CLIENTS), "--patterns", "/bench/pump/**",
         "--duration", str(DURATION), "--warmup", str(WARMUP), "--server-pid", str(server_pid)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Connecting 1,000 clients takes under a second; the window starts after the warm-up.
    time.sleep(WARMUP + 1.0)
    perf = perf_stat(server_pid, DURATION - 1.0)
    stdout, stderr = out.communicate(timeout=DURATION + WARMUP + 120)
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: " + stderr[-2000:])
    import json
    result = json.loads(stdout)
    counts = perf_counts(perf)
    messages = result.get("msgs_per_s", 0) * (DURATION - 1.0)
    if counts and messages > 0:
        result["per_msg"] = {k: v / messages for k, v in counts.items()}
    result["wall_s"] = time.time() - started
    return result


def flat(prefix, result):
    out = {f"{prefix}_cpu_us_per_msg": result["server_cpu_us_per_msg"], f"{prefix}_msgs_per_s": result["msgs_per_s"],
           f"{prefix}_p50_ms": result["latency_us"]["p50"] / 1000, f"{prefix}_p99_ms": result["latency_us"]["p99"] / 1000,
           f"{prefix}_cpu_pct": result["server_cpu_pct"], f"{prefix}_skipped": result["versions_skipped"]}
    for k, v in result.get("per_msg", {}).items():
        out[f"{prefix}_{k.replace('-', '_')}_per_msg"] = v
    return out


def scenario(name, root, hub_class, write_config, free_port, loadgen_binary):
    floor_args, tick_ms, rate_hz, channels = CASES[name]

    def run():
        binary = build_floor(root)
        if binary is None:
            message = f"skipped: {floor_source(root)} not found (the floor comes from ../shared/bench/floor.c)"
            print(f"{name}: {message}", file=sys.stderr, flush=True)
            return {"skipped": message}
        port = free_port()
        floor = subprocess.Popen([binary, "-l", f"http://127.0.0.1:{port}", "-F", "plenum"] + floor_args,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            if "listening" not in floor.stderr.readline():
                raise RuntimeError("floor did not start")
            floor_result = measure(floor.pid, port, loadgen_binary)
        finally:
            floor.kill()
            floor.wait()
        with tempfile.TemporaryDirectory() as d:
            config = write_config(d, tick_ms, [{"name": "pump", "script": "plugins/pump.lua", "prefix": "/bench/pump",
                                                "params": {"rate_hz": rate_hz, "channels": channels}}])
            hub = hub_class(config)
            try:
                hub_result = measure(hub.pid, hub.port, loadgen_binary)
            finally:
                hub.stop()
        out = flat("floor", floor_result)
        out.update(flat("hub", hub_result))
        if os.environ.get("HUB_NIO") == "1":
            # The hub again with `direct_sends: false`: every write through NIO (before issue 14).
            with tempfile.TemporaryDirectory() as d:
                config = write_config(d, tick_ms, [{"name": "pump", "script": "plugins/pump.lua",
                                                    "prefix": "/bench/pump",
                                                    "params": {"rate_hz": rate_hz, "channels": channels}}],
                                      extra_server="direct_sends: false")
                hub = hub_class(config)
                try:
                    out.update(flat("nio", measure(hub.pid, hub.port, loadgen_binary)))
                finally:
                    hub.stop()
            out["nio_cpu_ratio"] = out["nio_cpu_us_per_msg"] / out["floor_cpu_us_per_msg"]
        out["cpu_ratio"] = out["hub_cpu_us_per_msg"] / out["floor_cpu_us_per_msg"]
        out["msgs_ratio"] = out["hub_msgs_per_s"] / out["floor_msgs_per_s"]
        out["p99_ratio"] = out["hub_p99_ms"] / out["floor_p99_ms"]
        return out
    return run


def table(summary):
    """The ratio table (Markdown) of the floor-* scenarios in a results summary."""
    rows = ["| case | floor CPU µs/msg | hub CPU µs/msg | ratio | floor msgs/s | hub msgs/s | ratio | floor p99 | hub p99 | ratio |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name in CASES:
        m = summary["scenarios"].get(name, {}).get("median", {})
        if "cpu_ratio" not in m:
            continue
        rows.append(f"| {name} | {m['floor_cpu_us_per_msg']:.2f} | {m['hub_cpu_us_per_msg']:.2f} | "
                    f"**{m['cpu_ratio']:.2f}×** | {m['floor_msgs_per_s']:,.0f} | {m['hub_msgs_per_s']:,.0f} | "
                    f"{m['msgs_ratio']:.2f}× | {m['floor_p99_ms']:.2f} ms | {m['hub_p99_ms']:.2f} ms | "
                    f"{m['p99_ratio']:.2f}× |")
    return "\n".join(rows) if len(rows) > 2 else ""
