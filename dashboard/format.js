// format.js — how values, units, times and ages read on screen.

// Units by point name, for channels whose device publishes no catalogue (docs/dashboard.md,
// "Units"). The first rule whose pattern matches the last path segment wins.
export const UNIT_RULES = [
  [/(^|_)(temp|temperature)$/, "°C"],
  [/(^|_)setpoint$/, "°C"],
  [/_(pct|percent)$/, "%"],
  [/(^|_)(rh|humidity)$/, "%RH"],
  [/_kwh$/, "kWh"],
  [/_kw$/, "kW"],
  [/_(pa|dp)$/, "Pa"],
  [/_kpa$/, "kPa"],
  [/_bar$/, "bar"],
  [/_hz$/, "Hz"],
  [/_rpm$/, "rpm"],
  [/_ppm$/, "ppm"],
  [/_m3h$/, "m³/h"],
  [/_lps$/, "l/s"],
];

export function unitByName(name) {
  for (const [pattern, unit] of UNIT_RULES) if (pattern.test(name)) return unit;
  return "";
}

const numberFormats = new Map();
function numberFormat(digits) {
  let format = numberFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
    numberFormats.set(digits, format);
  }
  return format;
}

export function formatNumber(value) {
  if (Number.isInteger(value)) return numberFormat(0).format(value);
  const magnitude = Math.abs(value);
  return numberFormat(magnitude >= 1000 ? 0 : magnitude >= 100 ? 1 : magnitude >= 1 ? 2 : 3).format(value);
}

// A value as one short line: numbers formatted, objects by their state or value, the rest as JSON.
export function formatValue(value) {
  if (value === null || value === undefined) return "—";
  switch (typeof value) {
    case "number":
      return formatNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return value;
    default:
      if (Array.isArray(value)) return `[${value.length} item${value.length === 1 ? "" : "s"}]`;
      if (typeof value.state === "string") return value.state;
      if (typeof value.value === "number") return formatNumber(value.value);
      return shorten(`{${Object.keys(value).join(", ")}}`, 40);
  }
}

export function shorten(text, length) {
  return text.length <= length ? text : text.slice(0, length - 1) + "…";
}

// How long ago, in the hub's clock: "now", "12 s", "3 min", "2 h", "4 d".
export function formatAge(milliseconds) {
  if (!(milliseconds >= 0)) return "";
  const seconds = milliseconds / 1000;
  if (seconds < 1) return "now";
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortTimeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayTimeFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function formatTime(ms) {
  return timeFormat.format(ms);
}

// An axis label for a time within a range of `spanMs`.
export function formatAxisTime(ms, spanMs) {
  if (spanMs > 2 * 86400000) return dayTimeFormat.format(ms);
  if (spanMs > 5 * 60000) return shortTimeFormat.format(ms);
  return timeFormat.format(ms);
}

export function formatDateTime(ms) {
  return fullFormat.format(ms);
}

// Natural order for path segments: line2 before line10.
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
export const compareNames = (a, b) => collator.compare(a, b);

// An element with a class and text, for building the page without innerHTML.
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
