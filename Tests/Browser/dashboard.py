"""The dashboard in a real browser: headless Debian Chromium driven by Playwright (which is told
where Chromium is and never downloads one), against the built `plenum` binary.

    dashboard.py SCENARIO --binary PATH --artifacts DIR [--docs DIR]

Each scenario starts its own hub in a scratch directory on a free port, drives the page as an
operator would, saves screenshots under --artifacts and prints one JSON object of what it saw;
the Swift test (DashboardBrowserTests) asserts on it. Scenarios:

  plant   the shipped hub.yaml: the tree, a value changing, a chart from history growing live,
          then SIGTERM + start of the hub: the page shows it is disconnected, reconnects by
          itself and resumes (recovered: true); a page opened afterwards still charts the
          minutes before the restart
  faults  a device that does not compile, one that keeps crashing, a predictor pushed into
          predicted then alarm, and Chart.js missing (server.chart_js pointing nowhere)
  scale   10,000 channels at 1 Hz: the tree stays virtualised, redraws stay throttled, the last
          unit is reachable by scrolling and by the filter; frame timings are reported
  secured a hub with an `auth:` section (tokens made by `plenum token new`) and trends: the
          page asks for a token (what is typed survives the hub's 5 s wait); a wrong one is
          refused with the hub's reason, a pasted "Bearer …" as not a token; a read-only one
          shows live values and charts history (Bearer), and its Set is `forbidden`; a token
          with write: sets the setpoint; removing it from hub.yaml + SIGHUP makes the page say
          it was revoked and ask again
  docs    the shipped plant after `--seconds` (default 240): the screenshots in docs/

Every wait is bounded; a hub left running is killed on the way out.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "Tests", "PlenumIntegrationTests", "Fixtures", "dashboard")
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 20000


STARTED = time.time()


def log(*parts):
    print(f"[{time.time() - STARTED:6.1f} s]", *parts, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """`plenum run` in a directory, on a fixed port so that a restart keeps the page's URL."""

    def __init__(self, binary, directory, port):
        self.binary, self.directory, self.port = binary, directory, port
        self.process = None
        self.log_path = os.path.join(directory, "hub.log")

    def start(self, timeout=30):
        out = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary, "run", "--config", "hub.yaml", "--port", str(self.port)],
            cwd=self.directory, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.text()}")
            status, body = self.get("/readyz")
            if status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the hub did not become ready:\n{self.text()}")

    def stop(self, timeout=20):
        """SIGTERM, as systemd stops it; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def get(self, path, token=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None
        except (OSError, ValueError):
            return 0, None

    def text(self):
        with open(self.log_path) as f:
            return f.read()


def scratch(yaml_text, extra_plugins=()):
    """A directory with hub.yaml, the repository's plugins/ and dashboard/ (linked) and the
    fixture scripts named, under fixtures/."""
    directory = tempfile.mkdtemp(prefix="plenum-dashboard-")
    os.symlink(os.path.join(REPO, "plugins"), os.path.join(directory, "plugins"))
    os.symlink(os.path.join(REPO, "dashboard"), os.path.join(directory, "dashboard"))
    os.mkdir(os.path.join(directory, "fixtures"))
    for name in extra_plugins:
        shutil.copy(os.path.join(FIXTURES, name), os.path.join(directory, "fixtures", name))
    with open(os.path.join(directory, "hub.yaml"), "w") as f:
        f.write(yaml_text)
    return directory


def shipped_plant():
    """The shipped hub.yaml on 127.0.0.1, its simulated Modbus controller on a free port."""
    with open(os.path.join(REPO, "hub.yaml")) as f:
        text = f.read()
    assert text.count("15020") >= 2, "hub.yaml serves and polls the Modbus port 15020"
    text = text.replace("15020", str(free_port())).replace("host: 0.0.0.0", "host: 127.0.0.1")
    return scratch(text)


class Browser:
    """One Chromium and one page, with the console's errors collected."""

    def __init__(self, playwright, artifacts, width=1360, height=860):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM)
        self.artifacts = artifacts
        self.errors = []
        self.failed = []
        self.foreign = []
        self.width, self.height = width, height
        self.page = self.new_page()

    def new_page(self):
        page = self.browser.new_page(viewport={"width": self.width, "height": self.height})
        page.set_default_timeout(WAIT_MS)
        # Console errors, less the browser's own line for each failed request (listed in `failed`,
        # with its URL) and for connections refused while the hub is down.
        page.on("console", lambda m: m.type == "error" and not self.expected(m.text) and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url.split('/', 3)[-1]}"))
        # Everything must come from the hub: no CDN, no web font, nothing from the internet.
        page.on("request", lambda r: r.url.startswith(("http://127.0.0.1:", "data:")) or self.foreign.append(r.url))
        return page

    @staticmethod
    def expected(text):
        return text.startswith("Failed to load resource") or "ERR_CONNECTION_REFUSED" in text

    def shot(self, name, page=None, directory=None):
        path = os.path.join(directory or self.artifacts, name)
        (page or self.page).screenshot(path=path)
        return path

    def close(self):
        self.browser.close()


def row(page, path):
    return page.locator(f'#tree .row[data-path="{path}"]')


def wait_live(page):
    page.wait_for_selector('#connection[data-state="live"]')


def chart_numbers(page):
    return page.evaluate(
        """() => { const c = document.querySelector('.chart'); if (!c) return null;
        return {path: c.dataset.path, points: +c.dataset.points || 0, history: +c.dataset.historyPoints || 0,
                live: +c.dataset.livePoints || 0, step: c.dataset.step || '', first: +c.dataset.first || 0,
                caption: c.querySelector('.chart-caption').textContent}; }"""
    )


def wait_chart(page, condition, what, timeout=WAIT_MS / 1000):
    """Polls the chart's numbers until `condition(numbers)`; returns them (or raises)."""
    deadline = time.time() + timeout
    numbers = None
    while time.time() < deadline:
        numbers = chart_numbers(page)
        if numbers and condition(numbers):
            return numbers
        time.sleep(0.2)
    raise AssertionError(f"chart: {what} not reached; last {numbers}")


def point_cells(page, path):
    cells = page.locator(f'table.points tr[data-path="{path}"] td')
    return {"value": cells.nth(1).inner_text(), "unit": cells.nth(2).inner_text(), "version": int(cells.nth(4).inner_text())}


def tear_down(browser, hub, directory, seen):
    """Closes the browser, stops the hub (keeping the end of its log in `seen`), removes the plant."""
    if browser:
        browser.close()
    hub.kill()
    seen["hub_log_tail"] = hub.text()[-1500:]
    shutil.rmtree(directory, ignore_errors=True)


# ---- scenarios ------------------------------------------------------------------------------


def plant(args, playwright):
    directory = shipped_plant()
    hub = Hub(args.binary, directory, free_port())
    seen = {}
    browser = None
    try:
        hub.start()
        browser = Browser(playwright, args.artifacts)
        page = browser.page
        page.goto(f"http://127.0.0.1:{hub.port}/")
        wait_live(page)
        row(page, "/plant/line2/chiller-2").wait_for()
        row(page, "/plant/line1/ahu-1").wait_for()
        # Line 1's chiller reads through Modbus: its first values follow its first poll, which
        # may come after the page is live (until then its status and predictor stand alone).
        page.locator('.cards .card[data-path="/plant/line1/chiller-1"]').wait_for()
        seen["tree"] = page.locator("#tree .row:not([hidden]) .name").all_inner_texts()
        seen["epoch_shown"] = page.inner_text("#epoch")
        seen["overview_cards"] = page.locator(".cards .card").evaluate_all("cards => cards.map(c => c.dataset.path)")
        browser.shot("plant-overview.png")

        # A unit, opened from the tree: its points in the tree and in the panel.
        row(page, "/plant/line2/chiller-2").click()
        page.wait_for_selector('.unit[data-path="/plant/line2/chiller-2"]')
        row(page, "/plant/line2/chiller-2/supply_temp").wait_for()
        channel = "/plant/line2/chiller-2/supply_temp"
        page.wait_for_selector(f'table.points tr[data-path="{channel}"]')
        before = point_cells(page, channel)
        # The hub publishes again; the screen follows (bounded wait for a newer version).
        status, rest = hub.get("/api/channels" + channel)
        deadline = time.time() + 10
        after = before
        while time.time() < deadline and after["version"] <= max(before["version"], rest["version"]):
            time.sleep(0.2)
            after = point_cells(page, channel)
        status, rest_after = hub.get("/api/channels" + channel)
        seen["value"] = {"before": before, "after": after, "rest_version_before": rest["version"],
                         "rest_after": {"version": rest_after["version"], "value": rest_after["value"]},
                         "tree_value": row(page, channel).locator(".value").inner_text(),
                         "tree_unit": row(page, channel).locator(".unit").inner_text()}

        # A setpoint from the panel: written by the device, then seen on screen; one out of
        # range is refused with the hub's reason.
        setpoint = "/plant/line2/chiller-2/setpoint"
        cell = page.locator(f'table.points tr[data-path="{setpoint}"] td.write')
        cell.locator("input").fill("7.5")
        cell.locator("button").click()
        page.wait_for_selector(f'table.points tr[data-path="{setpoint}"] .write-result[data-code="ok"]')
        page.wait_for_function(
            f"() => document.querySelector('table.points tr[data-path=\"{setpoint}\"] td.value').textContent === '7.5'"
        )
        seen["write_ok"] = {"result": page.inner_text(f'table.points tr[data-path="{setpoint}"] .write-result'),
                            "value": point_cells(page, setpoint)["value"]}
        cell = page.locator(f'table.points tr[data-path="{setpoint}"] td.write')
        cell.locator("input").fill("15")
        cell.locator("button").click()
        refused = page.locator(f'table.points tr[data-path="{setpoint}"] .write-result[data-code="out_of_range"]')
        refused.wait_for()
        seen["write_refused"] = refused.inner_text()
        seen["writable_status"] = hub.get("/api/channels/plenum/devices/chiller-2/status")[1]["value"].get("writable")

        # Its chart: from the history, then growing from the WebSocket.
        page.click(f'table.points tr[data-path="{channel}"]')
        first = wait_chart(page, lambda n: n["path"] == channel and n["history"] >= 3, "3 points from history")
        grown = wait_chart(page, lambda n: n["live"] >= 3 and n["points"] > first["points"], "3 live points")
        seen["chart"] = {"first": first, "grown": grown}
        browser.shot("plant-unit-chart.png")
        day = page.locator('.ranges button[data-range="1d"]')
        day.click()
        seen["chart_day"] = wait_chart(page, lambda n: n["step"] not in ("", "raw"), "a per-minute step")
        page.locator('.ranges button[data-range="1h"]').click()
        wait_chart(page, lambda n: n["step"] == "raw" and n["history"] > 0, "raw again")

        # The hub stops (SIGTERM) and starts again on the same port.
        wait_chart(page, lambda n: n["live"] >= 2, "live again")
        points_before = chart_numbers(page)
        restart_ms = time.time() * 1000
        seen["stop_status"] = hub.stop()
        page.wait_for_selector('#banner[data-state="disconnected"]:not([hidden])')
        seen["banner"] = page.inner_text("#banner")
        seen["state_while_down"] = page.get_attribute("#connection", "data-state")
        browser.shot("plant-disconnected.png")
        time.sleep(1.0)
        hub.start()
        wait_live(page)
        page.wait_for_selector("#resume[data-recovered]")
        seen["recovered"] = page.get_attribute("#resume", "data-recovered")
        page.wait_for_function("() => document.querySelector('#resume').textContent.includes('replayed')", timeout=5000)
        seen["resume_note"] = page.inner_text("#resume")
        seen["banner_hidden_after"] = page.is_hidden("#banner")
        seen["epoch_after"] = page.inner_text("#epoch")
        seen["resumes"] = page.evaluate("window.plenum.stats.resumes.map(r => r.recovered)")
        grown_after = wait_chart(page, lambda n: n["live"] > points_before["live"] + 2, "growing after the restart")
        seen["restart_chart"] = {"before": points_before, "after": grown_after}
        status, rest_epoch = hub.get("/api/channels")
        seen["epoch_rest_after"] = rest_epoch["epoch"]
        browser.shot("plant-resumed.png")

        # A page opened now charts the hour, the minutes before the restart included.
        fresh = browser.new_page()
        fresh.goto(f"http://127.0.0.1:{hub.port}/#{channel}")
        wait_live(fresh)
        numbers = wait_chart(fresh, lambda n: n["path"] == channel and n["history"] > 0, "history on a new page")
        seen["fresh_page"] = {"numbers": numbers, "restart_ms": restart_ms}
        seen["errors"] = browser.errors
        seen["foreign_requests"] = browser.foreign
        seen["failed_requests"] = browser.failed
    finally:
        tear_down(browser, hub, directory, seen)
    return seen


FAULTS_YAML = """
server:
  host: 127.0.0.1
  tick_ms: 10
  chart_js: /nonexistent/chart.js/chart.min.js
devices:
  - name: chiller-9
    script: fixtures/ramp.lua
    prefix: /plant/line9/chiller-9
    params: {start: 6.0, rate: %(rate)s, period: 0.2}
  - name: chiller-9-predictor
    script: plugins/predictor.lua
    prefix: /plant/line9/chiller-9/predictor
    params: {watch: /plant/line9/chiller-9/supply_temp, threshold: 9.0, alpha: 1, window_s: 6,
             horizon_s: 300, persistence_s: 0.5}
  - name: pump-3
    script: fixtures/crasher.lua
    prefix: /plant/line9/pump-3
  - name: ahu-9
    script: fixtures/broken.lua
    prefix: /plant/line9/ahu-9
"""


def faults(args, playwright):
    directory = scratch(FAULTS_YAML % {"rate": 0.4}, ["ramp.lua", "crasher.lua", "broken.lua"])
    hub = Hub(args.binary, directory, free_port())
    seen = {}
    browser = None
    try:
        hub.start()
        browser = Browser(playwright, args.artifacts)
        page = browser.page
        page.goto(f"http://127.0.0.1:{hub.port}/")
        wait_live(page)
        # The failed device and the crashing one, with their errors, in the overview.
        failed = page.locator('.attention .device[data-device="ahu-9"]')
        failed.wait_for()
        seen["failed"] = {"badge": failed.locator(".badge").inner_text(), "error": failed.locator(".device-error").inner_text()}
        crashing = page.locator('.attention .device[data-device="pump-3"].state-backoff')
        crashing.wait_for()
        seen["backoff"] = {"badge": crashing.locator(".badge").inner_text(), "error": crashing.locator(".device-error").inner_text()}
        # The predictor: predicted first, then alarm.
        predicted = page.locator('.alarm-row.level-predicted[data-path="/plant/line9/chiller-9/predictor/alarm"]')
        predicted.wait_for()
        seen["predicted"] = predicted.inner_text()
        seen["header_predicted"] = page.inner_text("#attention")
        browser.shot("faults-predicted.png")
        alarm = page.locator('.alarm-row.level-alarm[data-path="/plant/line9/chiller-9/predictor/alarm"]')
        alarm.wait_for(timeout=30000)
        seen["alarm"] = alarm.inner_text()
        page.wait_for_function("() => document.querySelector('#attention').textContent.includes('alarm')")
        seen["header"] = page.inner_text("#attention")
        seen["header_class"] = page.get_attribute("#attention", "class")
        seen["tree_badge"] = row(page, "/plant/line9/chiller-9").locator(".badge").inner_text()
        seen["card_badges"] = page.locator('.card[data-path="/plant/line9/chiller-9"] .badge').all_inner_texts()
        browser.shot("faults-overview.png")
        # The unit: its alarm row highlighted; the chart says Chart.js is missing.
        row(page, "/plant/line9/chiller-9").click()
        alarm_row = page.locator('table.points tr.level-alarm[data-path="/plant/line9/chiller-9/predictor/alarm"]')
        alarm_row.wait_for()
        seen["alarm_row"] = alarm_row.inner_text()
        predictor = row(page, "/plant/line9/chiller-9/predictor")
        seen["tree_predictor_badge"] = predictor.locator(".badge").inner_text()
        predictor.locator(".twisty").click()
        seen["tree_alarm_row_class"] = row(page, "/plant/line9/chiller-9/predictor/alarm").get_attribute("class")
        missing = page.locator(".chart-message.chart-missing")
        missing.wait_for()
        seen["chart_missing"] = missing.inner_text()
        seen["live_values_still"] = page.locator('table.points tr[data-path="/plant/line9/chiller-9/supply_temp"] td.value').inner_text()
        browser.shot("faults-unit.png")
        # The failed device's status channel in the tree.
        page.fill("#filter", "ahu-9")
        status_row = row(page, "/plenum/devices/ahu-9/status")
        status_row.wait_for()
        seen["status_row_value"] = status_row.locator(".value").inner_text()
        seen["errors"] = browser.errors
        seen["failed_requests"] = browser.failed
    finally:
        tear_down(browser, hub, directory, seen)
    return seen


SCALE_YAML = """
server:
  host: 127.0.0.1
  tick_ms: 50
channels:
  history: 4
devices:
  - name: big
    script: fixtures/big_plant.lua
    prefix: /big
    params: {lines: 10, units: 100}
"""

FRAME_PROBE = """() => {
  const probe = { gaps: [], longTasks: [], longTaskMs: 0, start: performance.now() };
  let last = performance.now();
  const frame = (t) => { probe.gaps.push(t - last); last = t; if (!probe.stop) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) { probe.longTasks.push(e.duration); probe.longTaskMs += e.duration; } })
      .observe({ type: "longtask", buffered: false });
  } catch (_) {}
  window.__probe = probe;
}"""

FRAME_READ = """() => {
  const p = window.__probe; p.stop = true;
  const gaps = p.gaps.slice(1).sort((a, b) => a - b);
  const q = (f) => gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(f * gaps.length))] : 0;
  const s = window.plenum.stats, t = window.plenum.tree;
  return { seconds: (performance.now() - p.start) / 1000, frames: gaps.length, p50: q(0.5), p99: q(0.99), max: gaps.length ? gaps[gaps.length - 1] : 0,
           longTasks: p.longTasks.length, longTaskMs: p.longTaskMs, maxLongTask: Math.max(0, ...p.longTasks),
           updates: s.updates, redraws: s.frames, treeRenders: t.renders, maxRedrawMs: s.maxFrameMs,
           domRows: t.domRows, rows: t.rows.length, channels: window.plenum.plant.channelCount };
}"""


def scale(args, playwright):
    directory = scratch(SCALE_YAML, ["big_plant.lua"])
    hub = Hub(args.binary, directory, free_port())
    seen = {}
    browser = None
    try:
        hub.start()
        log("hub started")
        # Wait until the plant has all its channels before the page opens (one snapshot).
        deadline = time.time() + 30
        while time.time() < deadline:
            status, body = hub.get("/api/channels")
            if status == 200 and len(body["channels"]) >= 10000:
                break
            time.sleep(0.5)
        log("10,000 channels")
        browser = Browser(playwright, args.artifacts)
        log("browser")
        page = browser.page
        opened = time.time()
        page.goto(f"http://127.0.0.1:{hub.port}/")
        wait_live(page)
        page.wait_for_function("() => window.plenum.plant.channelCount >= 10000", timeout=30000)
        row(page, "/big/line1").wait_for()
        seen["first_render_s"] = round(time.time() - opened, 2)
        # Five seconds of 10,000 updates a second, nothing touched.
        page.evaluate(FRAME_PROBE)
        before = page.evaluate("() => ({updates: window.plenum.stats.updates, redraws: window.plenum.stats.frames, treeRenders: window.plenum.tree.renders})")
        time.sleep(3)
        quiet = page.evaluate(FRAME_READ)
        quiet["updates"] -= before["updates"]
        quiet["redraws"] -= before["redraws"]
        quiet["treeRenders"] -= before["treeRenders"]
        seen["quiet"] = quiet
        log("quiet measured")
        browser.shot("scale-overview.png")
        log("screenshot")
        # Open every line: 1,000 units in the tree, still only the rows in view in the DOM.
        page.evaluate("""() => { for (const n of window.plenum.plant.root.children.get('big').sorted) { n.expanded = true; }
                                 window.plenum.tree.expandedRevision++; window.plenum.tree.refresh(); }""")
        page.evaluate(FRAME_PROBE)
        for i in range(1, 6):
            page.evaluate(f"() => {{ const t = document.querySelector('#tree'); t.scrollTop = t.scrollHeight * {i} / 5; }}")
            time.sleep(0.2)
        last_unit = row(page, "/big/line10/unit100")
        last_unit.wait_for()
        log("scrolled")
        scrolled = page.evaluate(FRAME_READ)
        seen["scrolled"] = scrolled
        last_unit.click()
        page.wait_for_selector('.unit[data-path="/big/line10/unit100"]')
        value_cell = page.locator('table.points tr[data-path="/big/line10/unit100/supply_temp"] td.version')
        v1 = int(value_cell.inner_text())
        page.wait_for_function(
            f"() => +document.querySelector('table.points tr[data-path=\"/big/line10/unit100/supply_temp\"] td.version').textContent > {v1}"
        )
        seen["unit_value_moved"] = True
        log("unit value moved")
        browser.shot("scale-unit.png")
        # The filter finds one unit among 1,000.
        page.fill("#filter", "unit77/")
        page.wait_for_function("() => window.plenum.tree.rows.length > 0 && window.plenum.tree.rows.length < 200")
        seen["filter_rows"] = page.evaluate("() => window.plenum.tree.rows.length")
        seen["filter_names"] = page.locator("#tree .row:not([hidden]) .name").all_inner_texts()[:6]
        seen["errors"] = browser.errors
        seen["failed_requests"] = browser.failed
    finally:
        if browser:
            browser.close()
        hub.kill()
        seen["hub_log_tail"] = hub.text()[-1000:]
        shutil.rmtree(directory, ignore_errors=True)
    return seen


def new_token(binary, name, *grants):
    """`plenum token new NAME …` as an operator runs it: the secret, and the hub.yaml lines it
    prints for `auth: tokens:`."""
    out = subprocess.run([binary, "token", "new", name, *grants], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("- name:"))
    entry = []
    for line in lines[start:]:
        if not line.strip():
            break
        entry.append(line)
    return lines[2].strip(), "\n".join(entry) + "\n"


SECURED_YAML = """
server:
  host: 127.0.0.1
  tick_ms: 10
trends:
  enabled: true
  path: trends.db
  prefixes:
    /plant: {raw: true}
auth:
  tokens:
%(tokens)sdevices:
  - name: chiller-1
    script: plugins/chiller.lua
    prefix: /plant/line1/chiller-1
    params: {setpoint: 6.5, capacity_kw: 350, period: 0.2}
    writable:
      - { channel: setpoint, type: number, min: 4, max: 12 }
"""


def give_token(page, secret):
    """Types a token into the open dialog and connects."""
    page.wait_for_selector("#token-dialog[open]")
    page.fill("#token-input", secret)
    page.click('#token-form button[type="submit"]')


def token_dialog(page, reason_part):
    """Waits for the token dialog, open with a reason containing `reason_part`; what it shows."""
    page.wait_for_function(
        """(part) => document.querySelector('#token-dialog').open
                     && document.querySelector('#token-reason').textContent.includes(part)""",
        arg=reason_part,
    )
    return {"reason": page.inner_text("#token-reason"), "header": page.inner_text("#connection"),
            "state": page.get_attribute("#connection", "data-state")}


def write_setpoint(page, path, value, code):
    """Sets `path` from its row's Set control; the answer shown once it has `code`."""
    cell = page.locator(f'table.points tr[data-path="{path}"] td.write')
    cell.locator("input").fill(value)
    cell.locator("button").click()
    answer = page.locator(f'table.points tr[data-path="{path}"] .write-result[data-code="{code}"]')
    answer.wait_for()
    return answer.inner_text()


def secured(args, playwright):
    viewer, viewer_entry = new_token(args.binary, "viewer")
    operator, operator_entry = new_token(args.binary, "operator", "--write", "/plant/*/*/setpoint")
    directory = scratch(SECURED_YAML % {"tokens": viewer_entry + operator_entry})
    hub = Hub(args.binary, directory, free_port())
    unit = "/plant/line1/chiller-1"
    channel, setpoint = unit + "/supply_temp", unit + "/setpoint"
    seen = {}
    browser = None
    try:
        hub.start()
        browser = Browser(playwright, args.artifacts)
        page = browser.page
        history_auth = []
        page.on("request", lambda r: "/api/history/" in r.url and history_auth.append(r.headers.get("authorization", "")))
        page.goto(f"http://127.0.0.1:{hub.port}/")

        # No token: the hub says nothing until it gets one, and the page asks for it.
        seen["no_token"] = token_dialog(page, "needs a token")
        browser.shot("secured-token-dialog.png")

        # A wrong token, typed slowly: the hub gives up waiting (4001 after 5 s) meanwhile, and
        # what was typed stays. The hub refuses the token (4001): the dialog again with its reason.
        page.fill("#token-input", viewer[:-4] + ("AAAA" if not viewer.endswith("AAAA") else "BBBB"))
        page.wait_for_function("() => window.plenum.connection.ws === null")
        seen["typed_kept"] = page.input_value("#token-input") != ""
        page.click('#token-form button[type="submit"]')
        seen["wrong_token"] = token_dialog(page, "did not accept")
        seen["wrong_token"]["banner"] = page.inner_text("#banner")
        # A pasted "Bearer <token>" cannot even be offered (a space): said so, not retried.
        give_token(page, "Bearer " + viewer)
        seen["not_a_token"] = token_dialog(page, "not a token")
        seen["not_a_token"]["banner"] = page.inner_text("#banner")

        # The read-only token: live values, and a chart from the history (REST with Bearer).
        give_token(page, viewer)
        wait_live(page)
        seen["viewer"] = {"header": page.inner_text("#connection"), "dialog_open": page.evaluate("document.querySelector('#token-dialog').open"),
                          "protocol": page.evaluate("window.plenum.connection.ws.protocol")}
        row(page, unit).click()
        page.wait_for_selector(f'table.points tr[data-path="{channel}"]')
        version = point_cells(page, channel)["version"]
        page.wait_for_function(
            f"() => +document.querySelector('table.points tr[data-path=\"{channel}\"] td.version').textContent > {version}"
        )
        seen["live_value"] = point_cells(page, channel)
        page.click(f'table.points tr[data-path="{channel}"]')
        seen["chart"] = wait_chart(page, lambda n: n["path"] == channel and n["history"] >= 3, "3 points from history")
        seen["history_bearer"] = [h == f"Bearer {viewer}" for h in history_auth]
        browser.shot("secured-viewer.png")

        # Set as the read-only token: the hub refuses it (forbidden) and the page says so.
        seen["write_forbidden"] = write_setpoint(page, setpoint, "7.5", "forbidden")

        # The operator's token, given through the header's Token button: applied.
        page.click("#token-button")
        give_token(page, operator)
        page.wait_for_function("() => document.querySelector('#connection').textContent === 'Live as operator'")
        seen["write_ok"] = write_setpoint(page, setpoint, "7.5", "ok")
        page.wait_for_function(
            f"() => document.querySelector('table.points tr[data-path=\"{setpoint}\"] td.value').textContent === '7.5'"
        )
        seen["setpoint_after"] = point_cells(page, setpoint)["value"]
        seen["setpoint_rest"] = hub.get("/api/channels" + setpoint, token=viewer)[1]["value"]

        # The operator's token revoked: removed from hub.yaml, SIGHUP. The page says so and asks again.
        with open(os.path.join(directory, "hub.yaml"), "w") as f:
            f.write(SECURED_YAML % {"tokens": viewer_entry})
        reloads = hub.text().count("access reloaded")
        hub.process.send_signal(signal.SIGHUP)
        seen["revoked"] = token_dialog(page, "revoked")
        seen["revoked"]["banner"] = page.inner_text("#banner")
        seen["reloaded"] = hub.text().count("access reloaded") > reloads
        seen["values_kept"] = point_cells(page, setpoint)["value"]
        browser.shot("secured-revoked.png")
        give_token(page, viewer)
        page.wait_for_function("() => document.querySelector('#connection').textContent === 'Live as viewer'")
        seen["after_revocation"] = {"header": page.inner_text("#connection"), "banner_hidden": page.is_hidden("#banner")}
        seen["errors"] = browser.errors
        seen["failed_requests"] = browser.failed
        seen["foreign_requests"] = browser.foreign
    finally:
        tear_down(browser, hub, directory, seen)
    return seen


def docs(args, playwright):
    """The screenshots in docs/: the shipped plant after a few minutes (chiller 2's fault has
    made its predictor predict, then alarm)."""
    directory = shipped_plant()
    hub = Hub(args.binary, directory, free_port())
    seen = {}
    try:
        hub.start()
        log(f"plant running on port {hub.port}; waiting {args.seconds} s")
        time.sleep(args.seconds)
        browser = Browser(playwright, args.artifacts, width=1280, height=760)
        page = browser.page
        page.goto(f"http://127.0.0.1:{hub.port}/")
        wait_live(page)
        time.sleep(2)
        seen["overview"] = browser.shot("dashboard-overview.png", directory=args.docs)
        page.goto(f"http://127.0.0.1:{hub.port}/#/plant/line2/chiller-2/supply_temp")
        wait_chart(page, lambda n: n["history"] > 0, "history")
        time.sleep(2)
        seen["unit"] = browser.shot("dashboard-unit.png", directory=args.docs)
        browser.close()
    finally:
        hub.kill()
        shutil.rmtree(directory, ignore_errors=True)
    return seen


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["plant", "faults", "scale", "secured", "docs"])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--docs", default=os.path.join(REPO, "docs"))
    parser.add_argument("--seconds", type=float, default=240)
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    os.makedirs(args.artifacts, exist_ok=True)
    started = time.time()
    with sync_playwright() as playwright:
        seen = globals()[args.scenario](args, playwright)
    seen["wall_s"] = round(time.time() - started, 1)
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
