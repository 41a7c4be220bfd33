// charts.js — a point's trend: the last hour, day or week from GET /api/history, continued live
// from the WebSocket's updates. Drawn by Chart.js 3 (Debian's libjs-chart.js, served by the hub;
// see docs/dashboard.md) — loaded once, and if it is missing the page says so and shows values.

import { api } from "./connection.js";
import { element, formatAxisTime, formatDateTime, formatNumber } from "./format.js";

export const RANGES = {
  "1h": { label: "Last hour", ms: 3600e3 },
  "1d": { label: "Last day", ms: 86400e3 },
  "1w": { label: "Last week", ms: 7 * 86400e3 },
};
const REDRAW_MS = 1000; // a chart is redrawn at most once a second
const LINE = "#1f6fd1";
const BAND = "rgba(31, 111, 209, 0.15)";

let chartLibrary = null;

// Resolves to window.Chart, or null when /javascript/chart.js/chart.min.js cannot be loaded.
export function loadChartLibrary() {
  if (!chartLibrary) {
    chartLibrary = new Promise((resolve) => {
      const script = document.createElement("script");
      script.src = "/javascript/chart.js/chart.min.js";
      script.onload = () => resolve(window.Chart || null);
      script.onerror = () => resolve(null);
      document.head.append(script);
    });
  }
  return chartLibrary;
}

function stepMicros(step) {
  const match = /^(\d+)([smhdw])$/.exec(step || "");
  if (!match) return 0;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[match[2]];
  return Number(match[1]) * unit * 1e6;
}

export class TrendChart {
  // plant: for the hub's clock and units; onUnauthorized: when the history needs a token.
  constructor(container, plant, { onUnauthorized }) {
    this.plant = plant;
    this.onUnauthorized = onUnauthorized;
    this.root = element("div", "chart");
    this.caption = element("div", "chart-caption");
    this.canvasBox = element("div", "chart-canvas");
    this.message = element("div", "chart-message");
    this.message.hidden = true;
    this.root.append(this.caption, this.canvasBox, this.message);
    container.append(this.root);
    this.chart = null;
    this.path = null;
    this.range = "1h";
    this.step = null;
    this.points = []; // {x: ms, y} (raw) or buckets {x, y: mean, min, max, count}
    this.historyPoints = 0;
    this.livePoints = 0;
    this.dirty = false;
    this.lastDraw = 0;
    this.generation = 0;
  }

  async show(path, range) {
    this.path = path;
    this.range = range;
    this.root.dataset.path = path;
    await this.reload();
  }

  // Fetches the history again (a new range, or after the hub started a new epoch).
  async reload() {
    const generation = ++this.generation;
    const path = this.path;
    const range = RANGES[this.range];
    this.setMessage("");
    this.caption.textContent = `${path} · ${range.label.toLowerCase()} · loading…`;
    const Chart = await loadChartLibrary();
    if (generation !== this.generation) return;
    if (!Chart) {
      this.destroyChart();
      this.canvasBox.hidden = true;
      this.root.dataset.points = "0";
      this.caption.textContent = path;
      this.setMessage(
        "Charts are unavailable: this hub could not serve Chart.js (/javascript/chart.js/chart.min.js). " +
          "Install Debian's libjs-chart.js on the gateway (apt-get install libjs-chart.js) or set " +
          "server.chart_js in hub.yaml, then restart the hub. Live values are unaffected.",
        "chart-missing",
      );
      return;
    }
    let answer;
    try {
      const encoded = path.split("/").map(encodeURIComponent).join("/");
      answer = await api(`/api/history${encoded}?from=-${this.range}`, { onUnauthorized: this.onUnauthorized });
    } catch (error) {
      answer = { status: 0, body: { error: String(error) } };
    }
    if (generation !== this.generation) return;
    this.points = [];
    this.step = null;
    let note = "";
    if (answer.status === 200) {
      this.step = answer.body.step;
      for (const p of answer.body.points) {
        if (this.step === "raw") {
          if (typeof p.value === "number") this.points.push({ x: p.ts / 1000, y: p.value });
        } else {
          this.points.push({ x: p.ts / 1000, y: p.mean, min: p.min, max: p.max, count: p.count });
        }
      }
    } else if (answer.body?.code === "trends_disabled") {
      note = "Trends are off on this hub (trends.enabled in hub.yaml): the chart shows values from now on.";
    } else if (answer.body?.code === "unknown_channel") {
      note = "No history for this point yet (only numbers are trended): the chart shows values from now on.";
    } else {
      note = `History unavailable: ${answer.body?.error || `HTTP ${answer.status}`}`;
    }
    this.historyPoints = this.points.length;
    this.livePoints = 0;
    this.build(Chart);
    if (note) this.setMessage(note, "chart-note");
    this.draw(true);
  }

  build(Chart) {
    this.destroyChart();
    const canvas = document.createElement("canvas");
    this.canvasBox.append(canvas);
    const aggregated = this.step && this.step !== "raw";
    const unit = this.plant.unitOf(this.path);
    const span = RANGES[this.range].ms;
    const datasets = [
      {
        label: this.path.slice(this.path.lastIndexOf("/") + 1),
        data: this.points,
        borderColor: LINE,
        backgroundColor: LINE,
        borderWidth: 1.5,
        pointRadius: 0,
        pointHitRadius: 4,
        tension: 0,
      },
    ];
    if (aggregated) {
      const min = { label: "min", data: [], borderWidth: 0, pointRadius: 0, fill: false };
      const max = { label: "max", data: [], borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: BAND };
      datasets.push(min, max);
    }
    this.chart = new Chart(canvas, {
      type: "line",
      data: { datasets },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: {
            type: "linear",
            ticks: { maxTicksLimit: 8, callback: (value) => formatAxisTime(value, span) },
          },
          y: { title: { display: Boolean(unit), text: unit } },
        },
        plugins: {
          legend: { display: false },
          decimation: { enabled: !aggregated, algorithm: "min-max" },
          tooltip: {
            filter: (item) => item.datasetIndex === 0,
            callbacks: {
              title: (items) => (items.length ? formatDateTime(items[0].parsed.x) : ""),
              label: (item) => {
                const p = item.raw;
                const value = `${formatNumber(p.y)}${unit ? " " + unit : ""}`;
                return aggregated ? `mean ${value} (min ${formatNumber(p.min)}, max ${formatNumber(p.max)}, ${p.count} samples)` : value;
              },
            },
          },
        },
      },
    });
  }

  // A new value of the charted channel from the WebSocket.
  live(ts, value) {
    if (!this.chart || typeof value !== "number") return;
    const x = ts / 1000;
    const last = this.points[this.points.length - 1];
    if (this.step && this.step !== "raw") {
      const step = stepMicros(this.step) / 1000;
      const start = Math.floor(x / step) * step;
      if (last && last.x === start) {
        last.count += 1;
        last.y += (value - last.y) / last.count;
        last.min = Math.min(last.min, value);
        last.max = Math.max(last.max, value);
      } else if (!last || start > last.x) {
        this.points.push({ x: start, y: value, min: value, max: value, count: 1 });
        this.livePoints++;
      }
    } else {
      if (last && x <= last.x) return; // already there (a resume replay of what the history had)
      this.points.push({ x, y: value });
      this.livePoints++;
    }
    this.dirty = true;
  }

  // Called often; redraws at most once a second, sliding the window to the hub's now.
  tick() {
    if (!this.chart) return;
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_MS) return;
    this.draw(false);
  }

  draw(force) {
    if (!this.chart) return;
    const span = RANGES[this.range].ms;
    const end = this.plant.hubNow();
    const start = end - span;
    let drop = 0;
    while (drop < this.points.length && this.points[drop].x < start - (stepMicros(this.step) / 1000 || 0)) drop++;
    if (drop) this.points.splice(0, drop);
    if (!force && !this.dirty && Date.now() - this.lastDraw < 10 * REDRAW_MS) return;
    const chart = this.chart;
    chart.options.scales.x.min = start;
    chart.options.scales.x.max = end;
    chart.data.datasets[0].data = this.points;
    if (chart.data.datasets.length > 2) {
      chart.data.datasets[1].data = this.points.map((p) => ({ x: p.x, y: p.min }));
      chart.data.datasets[2].data = this.points.map((p) => ({ x: p.x, y: p.max }));
    }
    chart.update("none");
    this.dirty = false;
    this.lastDraw = Date.now();
    this.describe();
  }

  describe() {
    const range = RANGES[this.range];
    const stepText = !this.step ? "live only" : this.step === "raw" ? "every sample" : `per ${this.step}`;
    const count = this.points.length;
    this.root.dataset.points = String(count);
    this.root.dataset.historyPoints = String(this.historyPoints);
    this.root.dataset.livePoints = String(this.livePoints);
    this.root.dataset.step = this.step || "";
    this.root.dataset.first = String(count ? Math.round(this.points[0].x) : 0);
    this.caption.textContent = `${this.path} · ${range.label.toLowerCase()} · ${stepText} · ${count.toLocaleString()} point${count === 1 ? "" : "s"}`;
  }

  setMessage(text, className) {
    this.message.textContent = text;
    this.message.className = `chart-message ${className || ""}`;
    this.message.hidden = !text;
  }

  destroyChart() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
    this.canvasBox.replaceChildren();
  }

  destroy() {
    this.generation++;
    this.destroyChart();
    this.root.remove();
  }
}
