// app.js — the dashboard: wires the connection, the plant model, the tree and the panels, and
// redraws on a timer (never per message) so that thousands of updates a second stay smooth.

import { HubConnection, api, setToken, token } from "./connection.js";
import { Plant } from "./plant.js";
import { TreeView } from "./tree.js";
import { RANGES, TrendChart, loadChartLibrary } from "./charts.js";
import { element, formatAge, formatTime, formatValue, shorten } from "./format.js";

const FRAME_MS = 250; // tree and header redraw at most 4 times a second
const PANEL_MS = 500; // panel values twice a second
const MAX_CARDS = 48; // unit cards in an overview; select a line for the rest

const $ = (id) => document.getElementById(id);
const plant = new Plant();
const stats = { messages: 0, updates: 0, frames: 0, lastFrameMs: 0, maxFrameMs: 0, resumes: [] };
const state = {
  selected: "", // path of the selected node ("" = the whole plant)
  chartPath: null,
  range: "1h",
  panelFor: null, // what the panel was built for: `${kind}:${path}:${structure}`
  bindings: [], // panel elements showing a channel: {path, value, age, row}
  resumeAt: 0, // hub time of the latest resume ack: updates before it were replayed
  replayed: 0,
  lastPanel: 0,
  lastStructure: -1,
  connection: "connecting",
  disconnectedAt: 0, // when the connection was lost (0: connected)
};

const writeResults = new Map(); // path → the answer to the latest write from this page
const tree = new TreeView($("tree"), plant, { onSelect: (path) => navigate(path) });
let chart = null;

// ---- connection -----------------------------------------------------------------------------

const connection = new HubConnection({
  onState(connectionState, detail, retryMs) {
    state.connection = connectionState;
    const indicator = $("connection");
    indicator.dataset.state = connectionState;
    const labels = {
      connecting: "Connecting…",
      live: "Live",
      disconnected: "Disconnected",
      unauthorised: "Token needed",
    };
    indicator.textContent = labels[connectionState] + (detail && connectionState === "live" ? ` ${detail}` : "");
    const banner = $("banner");
    if (connectionState === "live") state.disconnectedAt = 0;
    else if (!state.disconnectedAt) state.disconnectedAt = Date.now();
    const last = plant.channelCount ? ` Values shown are as of ${formatTime(state.disconnectedAt)}.` : "";
    if (connectionState === "disconnected") {
      banner.textContent = `Disconnected from the hub (${detail}). Reconnecting in ${Math.round(retryMs / 100) / 10} s…${last}`;
      banner.hidden = false;
      banner.dataset.state = "disconnected";
    } else if (connectionState === "unauthorised") {
      // Stays after the token dialog is closed: why the page is not live (the hub's reason).
      banner.textContent = `Token needed (${detail}): give one with Token, top right.${last}`;
      banner.hidden = false;
      banner.dataset.state = "unauthorised";
    } else if (connectionState === "live") {
      banner.hidden = true;
    }
  },
  onWelcome(welcome, sameEpoch) {
    if (plant.epoch && !sameEpoch) plant.forgetVersions();
    const restarted = plant.epoch !== undefined && plant.epoch !== welcome.epoch;
    plant.epoch = welcome.epoch;
    $("epoch").textContent = `epoch ${welcome.epoch}`;
    $("epoch").title = "The hub's epoch: the same across clean restarts (docs/protocol.md, Restarts)";
    if (restarted) {
      note(`The hub started a new epoch (${welcome.epoch}): fresh values loaded, charts reloaded from history.`, "fresh");
      if (chart) chart.reload();
    }
  },
  onSubscribed(message) {
    if (message.recovered === undefined) return;
    state.resumeAt = plant.hubNow();
    state.replayed = 0;
    const resume = { recovered: message.recovered, at: Date.now() };
    stats.resumes.push(resume);
    const indicator = $("resume");
    indicator.dataset.recovered = String(message.recovered);
    if (message.recovered) {
      note(`Reconnected at ${formatTime(Date.now())}: resumed, nothing lost.`, "resumed");
      setTimeout(() => {
        if (stats.resumes[stats.resumes.length - 1] === resume) {
          note(`Reconnected at ${formatTime(resume.at)}: resumed, nothing lost (${state.replayed} missed update${state.replayed === 1 ? "" : "s"} replayed).`, "resumed");
        }
      }, 1500);
    } else {
      note(`Reconnected at ${formatTime(Date.now())}: the hub could not replay what was missed; fresh values loaded and charts reloaded.`, "fresh");
      if (chart) chart.reload();
    }
  },
  onSnapshot(channels) {
    for (const c of channels) plant.apply(c.channel, c.version, c.ts, c.value);
  },
  onUpdate(message) {
    stats.updates++;
    plant.observe(message.ts);
    if (message.ts / 1000 <= state.resumeAt) state.replayed++;
    if (plant.apply(message.channel, message.version, message.ts, message.value) && chart && message.channel === chart.path) {
      chart.live(message.ts, message.value);
    }
  },
  onError(message) {
    if (message.code === "forbidden") note(`The hub refused: ${message.message}`, "error");
    else note(`The hub says: ${message.message || message.code}`, "error");
  },
  onAuthNeeded(reason) {
    askForToken(reason);
  },
});

function note(text, kind = "") {
  const el = $("resume");
  el.textContent = text;
  el.className = `note ${kind}`;
}

// ---- token ----------------------------------------------------------------------------------

// Asked again while the dialog is open (the hub gives up waiting for a token after 5 s): the
// reason is updated, what the operator is typing is kept.
function askForToken(reason) {
  const dialog = $("token-dialog");
  $("token-reason").textContent = reason;
  $("token-forget").hidden = !token();
  if (dialog.open) return;
  $("token-input").value = "";
  dialog.showModal();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("token-input").value.trim();
  if (!value) return;
  setToken(value);
  $("token-dialog").close();
  connection.restart();
  if (chart) chart.reload();
});
$("token-forget").addEventListener("click", () => {
  setToken("");
  $("token-dialog").close();
  connection.restart();
});
$("token-cancel").addEventListener("click", () => $("token-dialog").close());
$("token-button").addEventListener("click", () => askForToken(token() ? "Change or forget the token this page uses." : "Give the page a token for this hub."));

// ---- navigation -----------------------------------------------------------------------------

function navigate(path) {
  if (location.hash.slice(1) !== path) location.hash = path;
  else select(path);
}

window.addEventListener("hashchange", () => select(decodeURIComponent(location.hash.slice(1))));

function select(path) {
  state.selected = path;
  state.panelFor = null;
  tree.select(path);
  revealSelection();
  renderPanel(true);
}

// Opens the tree down to the selection once it exists (a link may arrive before the snapshot).
let revealed = null;
function revealSelection() {
  if (revealed === state.selected || !plant.node(state.selected)) return;
  revealed = state.selected;
  tree.reveal(state.selected);
  const node = plant.node(state.selected);
  if (node.children && !tree.isExpanded(node)) tree.toggle(node);
  tree.scrollToSelected();
}

// ---- panels ---------------------------------------------------------------------------------

// What the panel shows for the selection: a unit (with a chart of one of its points), or an
// overview of everything under a group.
function panelTarget() {
  const node = plant.node(state.selected);
  if (!node) return { kind: "overview", node: plant.root, waiting: state.selected !== "" };
  if (!node.children && node.channel) return { kind: "unit", node: node.parent, chartPath: node.path };
  if (node.isUnit) return { kind: "unit", node, chartPath: null };
  return { kind: "overview", node };
}

function renderPanel(force) {
  const target = panelTarget();
  const key = `${target.kind}:${target.node.path}:${plant.structure}`;
  // Not while the operator is typing a value into the panel: it would be lost.
  const typing = document.activeElement?.closest?.("#panel") && /^(INPUT|SELECT)$/.test(document.activeElement.tagName);
  if (force || (key !== state.panelFor && !typing)) {
    state.panelFor = key;
    if (target.kind === "unit") buildUnitPanel(target.node, target.chartPath);
    else buildOverview(target.node, target.waiting);
  }
  refreshBindings();
}

function bind(path, valueEl, ageEl, rowEl) {
  state.bindings.push({ path, value: valueEl, age: ageEl, row: rowEl, shown: null });
}

function refreshBindings() {
  const now = plant.hubNow();
  for (const b of state.bindings) {
    const node = plant.node(b.path);
    const channel = node?.channel;
    if (!channel) continue;
    const text = formatValue(channel.value);
    if (b.shown !== text) {
      b.value.textContent = text;
      b.shown = text;
    }
    if (b.age) b.age.textContent = formatAge(now - channel.ts / 1000);
    if (b.row) {
      b.row.classList.toggle("level-alarm", node.level === 2);
      b.row.classList.toggle("level-predicted", node.level === 1);
    }
  }
  state.lastPanel = Date.now();
}

function title(node) {
  return node.path || "Plant";
}

function deviceLine(device) {
  const line = element("div", `device state-${device.state}`);
  line.dataset.device = device.name;
  line.append(element("span", `badge state-${device.state}`, device.state));
  line.append(element("span", "device-name", device.name));
  if (device.restarts) line.append(element("span", "device-restarts", `${device.restarts} restart${device.restarts === 1 ? "" : "s"}`));
  if (device.state === "backoff" && typeof device.retry_in_s === "number") {
    line.append(element("span", "device-retry", `retry in ${Math.round(device.retry_in_s)} s`));
  }
  if (device.last_error) line.append(element("div", "device-error", device.last_error));
  return line;
}

function devicesAt(path) {
  const found = [];
  const nearest = plant.deviceFor(path);
  if (nearest) found.push(nearest);
  for (const device of plant.devices.values()) {
    if (device !== nearest && typeof device.prefix === "string" && device.prefix.startsWith(path + "/")) found.push(device);
  }
  return found;
}

function buildOverview(node, waiting) {
  const panel = $("panel");
  if (chart) {
    chart.destroy();
    chart = null;
  }
  state.bindings = [];
  const body = element("div", "overview");
  const heading = element("h2", "", title(node));
  body.append(heading);
  if (waiting) body.append(element("p", "hint", `Waiting for ${state.selected}…`));
  const counts = element(
    "p",
    "summary",
    `${node.leafCount.toLocaleString()} channel${node.leafCount === 1 ? "" : "s"} · ${plant.devices.size} device${plant.devices.size === 1 ? "" : "s"}`,
  );
  body.append(counts);

  // Alarms first: what needs attention.
  const alarms = [...plant.alarmNodes].filter((n) => n.path.startsWith(node.path + "/") || node.path === "");
  const problems = plant.problemDevices().filter((d) => !node.path || (d.prefix || "").startsWith(node.path));
  if (alarms.length || problems.length) {
    const section = element("section", "attention");
    section.append(element("h3", "", "Needs attention"));
    for (const alarm of alarms.sort((a, b) => b.level - a.level)) {
      const row = element("div", `alarm-row level-${alarm.level === 2 ? "alarm" : "predicted"}`);
      row.dataset.path = alarm.path;
      row.append(element("span", "badge", alarm.channel.value === true ? "alarm" : String(alarm.channel.value)));
      row.append(element("a", "path", alarm.path));
      row.addEventListener("click", () => navigate(alarm.path.slice(0, alarm.path.lastIndexOf("/"))));
      section.append(row);
    }
    for (const device of problems) section.append(deviceLine(device));
    body.append(section);
  }

  const { units, total } = plant.unitsUnder(node, MAX_CARDS);
  if (units.length) {
    const grid = element("div", "cards");
    for (const unit of units) grid.append(unitCard(unit));
    body.append(grid);
    if (total > units.length) {
      body.append(element("p", "hint", `${total - units.length} more units: select a line in the tree to see them.`));
    }
  }

  if (node.path === "" || node.path === "/plenum" || node.path === "/plenum/devices") {
    const section = element("section", "devices");
    section.append(element("h3", "", "Devices"));
    const devices = [...plant.devices.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (!devices.length) section.append(element("p", "hint", "No device status received."));
    for (const device of devices) section.append(deviceLine(device));
    body.append(section);
  }
  panel.replaceChildren(body);
}

function unitCard(unit) {
  const card = element("article", "card");
  card.dataset.path = unit.path;
  const header = element("header");
  const name = element("a", "card-title", unit.path.split("/").slice(-2).join(" / "));
  name.title = unit.path;
  header.append(name);
  const device = plant.deviceFor(unit.path);
  if (device) header.append(element("span", `badge state-${device.state}`, device.state));
  if (unit.alarms || unit.predicted) {
    header.append(element("span", `badge ${unit.alarms ? "level-alarm" : "level-predicted"}`, unit.alarms ? "alarm" : "predicted"));
  }
  card.append(header);
  card.addEventListener("click", () => navigate(unit.path));
  const list = element("dl");
  // Catalogues (`modbus/points`, `meta/points`) describe the points; the card shows the points.
  const leaves = plant.leavesUnder(unit, 16).filter((leaf) => !/\/(modbus|meta)\/points$/.test(leaf.path)).slice(0, 14);
  for (const leaf of leaves) {
    const row = element("div", "card-row");
    const label = element("dt", "", leaf.path.slice(unit.path.length + 1));
    const value = element("dd", "value");
    const unitText = typeof leaf.channel.value === "number" ? plant.unitOf(leaf.path) : "";
    const unitEl = element("span", "unit", unitText);
    row.append(label, value, unitEl);
    list.append(row);
    bind(leaf.path, value, null, row);
  }
  card.append(list);
  return card;
}

function buildUnitPanel(unit, chartPath) {
  const panel = $("panel");
  state.bindings = [];
  const body = element("div", "unit");
  body.dataset.path = unit.path;
  const heading = element("h2", "", unit.path);
  body.append(heading);
  for (const device of devicesAt(unit.path)) body.append(deviceLine(device));

  const table = element("table", "points");
  const head = element("thead");
  const headRow = element("tr");
  const leaves = plant.leavesUnder(unit, 500).filter((n) => n !== unit);
  const writable = leaves.some((leaf) => plant.writable.has(leaf.path));
  const labels = ["Point", "Value", "Unit", "Age", "Version"];
  if (writable) labels.push("Set");
  for (const label of labels) headRow.append(element("th", "", label));
  head.append(headRow);
  table.append(head);
  const rows = element("tbody");
  let firstNumeric = null;
  for (const leaf of leaves) {
    const row = element("tr", "point");
    row.dataset.path = leaf.path;
    const numeric = typeof leaf.channel.value === "number";
    // The default chart: the unit's own first number (not one of a sub-group's).
    if (numeric && leaf.parent === unit && !firstNumeric) firstNumeric = leaf.path;
    const value = element("td", "value");
    const age = element("td", "age");
    const version = element("td", "version", String(leaf.channel.version));
    row.append(
      element("td", "name", leaf.path.slice(unit.path.length + 1)),
      value,
      element("td", "unit", numeric ? plant.unitOf(leaf.path) : ""),
      age,
      version,
    );
    if (writable) row.append(writeCell(leaf));
    row.addEventListener("click", (event) => {
      if (!event.target.closest("input, button, select")) navigate(leaf.path);
    });
    rows.append(row);
    bind(leaf.path, value, age, row);
    state.bindings[state.bindings.length - 1].version = version;
  }
  table.append(rows);

  const chartPathWanted =
    chartPath || (state.chartPath && state.chartPath.startsWith(unit.path + "/") ? state.chartPath : firstNumeric);
  const chartBox = element("div", "chart-box");
  const ranges = element("div", "ranges");
  for (const [key, range] of Object.entries(RANGES)) {
    const button = element("button", key === state.range ? "active" : "", range.label);
    button.dataset.range = key;
    button.addEventListener("click", () => {
      state.range = key;
      for (const b of ranges.children) b.classList.toggle("active", b === button);
      if (chart) chart.show(chart.path, key);
    });
    ranges.append(button);
  }
  chartBox.append(ranges);
  body.append(chartBox, table);
  for (const row of rows.children) row.classList.toggle("charted", row.dataset.path === chartPathWanted);

  // The chart survives a rebuild of the panel (new channels, a device state): it is moved, not
  // made again, unless it shows another point.
  if (chartPathWanted) {
    if (chart && chart.path === chartPathWanted && chart.range === state.range) {
      chartBox.append(chart.root);
    } else {
      if (chart) chart.destroy();
      chart = new TrendChart(chartBox, plant, { onUnauthorized: askForToken });
      chart.show(chartPathWanted, state.range);
    }
    state.chartPath = chartPathWanted;
  } else if (chart) {
    chart.destroy();
    chart = null;
  }
  panel.replaceChildren(body);
}

// A control to write a point the device declares writable (docs/protocol.md, "Writing"):
// the hub checks the value and the token's permission, the device applies it and answers.
function writeCell(leaf) {
  const cell = element("td", "write");
  const declaration = plant.writable.get(leaf.path);
  if (!declaration) return cell;
  cell.dataset.type = declaration.type;
  const result = element("span", "write-result");
  // The answer outlives a rebuild of the panel: it is kept by path and shown again.
  const show = (answer) => {
    result.textContent = answer.text;
    result.className = `write-result ${answer.kind}`;
    result.dataset.code = answer.code;
  };
  const kept = writeResults.get(leaf.path);
  if (kept) show(kept);
  const send = (value) => {
    show({ text: "…", kind: "", code: "" });
    connection.write(leaf.path, value, (message) => {
      const answer = message.ok
        ? { text: "✓ written", kind: "ok", code: "ok" }
        : { text: `✗ ${message.message || message.code}`, kind: "refused", code: message.code };
      writeResults.set(leaf.path, answer);
      if (result.isConnected) show(answer);
      else state.panelFor = null; // rebuilt meanwhile: the next redraw shows it
    });
  };
  const current = leaf.channel?.value;
  if (declaration.type === "boolean") {
    for (const value of [true, false]) {
      const button = element("button", "", String(value));
      button.addEventListener("click", () => send(value));
      cell.append(button);
    }
  } else {
    let input;
    if (declaration.type === "enum") {
      input = element("select");
      for (const value of declaration.values || []) {
        const option = element("option", "", value);
        option.value = value;
        option.selected = value === current;
        input.append(option);
      }
    } else {
      input = element("input");
      const numeric = declaration.type === "number" || declaration.type === "integer";
      input.type = numeric ? "number" : "text";
      if (numeric) {
        input.step = declaration.type === "integer" ? "1" : "any";
        if (declaration.min !== undefined) input.min = String(declaration.min);
        if (declaration.max !== undefined) input.max = String(declaration.max);
        if (typeof current === "number") input.value = String(current);
        input.title = `${declaration.min ?? "−∞"} … ${declaration.max ?? "∞"}`;
      } else if (typeof current === "string") {
        input.value = current;
      }
    }
    const button = element("button", "", "Set");
    const submit = () => {
      if (input.type === "number") {
        const value = Number(input.value);
        if (input.value === "" || !Number.isFinite(value)) {
          result.textContent = "✗ not a number";
          result.className = "write-result refused";
          return;
        }
        send(value);
      } else {
        send(input.value);
      }
    };
    button.addEventListener("click", submit);
    input.addEventListener("keydown", (event) => event.key === "Enter" && submit());
    cell.append(input, button);
  }
  cell.append(result);
  return cell;
}

// ---- the redraw loop ------------------------------------------------------------------------

let lastAges = 0;
let lastClock = 0;
function frame() {
  const started = performance.now();
  const changed = plant.takeChanged();
  const now = Date.now();
  const structureChanged = state.lastStructure !== plant.structure;
  if (changed.size || structureChanged || now - lastAges >= 1000) {
    tree.refresh();
    lastAges = now;
  }
  if (structureChanged) {
    state.lastStructure = plant.structure;
    renderHeader();
    revealSelection();
  }
  if (structureChanged || now - state.lastPanel >= PANEL_MS) renderPanel(false);
  for (const b of state.bindings) if (b.version && changed.has(b.path)) b.version.textContent = String(plant.node(b.path).channel.version);
  if (chart) chart.tick();
  if (now - lastClock >= 5000) {
    plant.settleClock();
    lastClock = now;
  }
  stats.frames++;
  stats.messages = connection.messages;
  stats.lastFrameMs = performance.now() - started;
  stats.maxFrameMs = Math.max(stats.maxFrameMs, stats.lastFrameMs);
  $("stats").textContent = `${plant.channelCount.toLocaleString()} channels · ${plant.devices.size} devices · ${stats.updates.toLocaleString()} updates`;
}

function renderHeader() {
  let alarms = 0;
  let predicted = 0;
  for (const n of plant.alarmNodes) n.level === 2 ? alarms++ : predicted++;
  const problems = plant.problemDevices().length;
  const summary = $("attention");
  const parts = [];
  if (alarms) parts.push(`${alarms} alarm${alarms > 1 ? "s" : ""}`);
  if (predicted) parts.push(`${predicted} predicted`);
  if (problems) parts.push(`${problems} device${problems > 1 ? "s" : ""} failing`);
  summary.textContent = parts.join(" · ");
  summary.hidden = parts.length === 0;
  summary.className = alarms || problems ? "attention level-alarm" : "attention level-predicted";
}

$("attention").addEventListener("click", () => navigate(""));
let filterTimer = null;
$("filter").addEventListener("input", (event) => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => tree.setFilter(event.target.value), 150);
});

// ---- start ----------------------------------------------------------------------------------

window.plenum = { plant, tree, connection, stats, get chart() { return chart; } };
loadChartLibrary();
state.selected = decodeURIComponent(location.hash.slice(1));
tree.select(state.selected);
connection.start();
setInterval(frame, FRAME_MS);
api("/readyz").then(({ body }) => {
  const trends = body?.details?.trends;
  if (trends && trends.state === "failed") note(`The trend store failed: ${shorten(trends.error || "", 160)}. Charts show live values only.`, "error");
});
