// plant.js — the plant as the page knows it: every channel received, arranged as a tree of
// path segments (line → unit → point), with device states and active alarms kept up to date
// as values arrive. No DOM here.

import { compareNames, unitByName } from "./format.js";

// Alarm levels of a channel named `alarm` (a predictor's `…/predictor/alarm`).
export const ALARM_LEVELS = { predicted: 1, alarm: 2 };

function alarmLevel(node) {
  if (node.name !== "alarm" || !node.channel) return 0;
  const value = node.channel.value;
  if (value === true) return 2;
  return typeof value === "string" ? ALARM_LEVELS[value] || 0 : 0;
}

// Device states an operator must look at.
export const PROBLEM_STATES = new Set(["failed", "backoff", "stuck"]);
const DEVICE_STATUS = /^\/plenum\/devices\/([^/]+)\/status$/;

export class PlantNode {
  constructor(name, path, parent) {
    this.name = name;
    this.path = path; // "" for the root
    this.parent = parent;
    this.depth = parent ? parent.depth + 1 : 0;
    this.children = null; // Map name → PlantNode
    this.sortedChildren = null; // cache, cleared when a child is added
    this.channel = null; // { value, version, ts } once a value arrived
    this.expanded = undefined; // undefined: the default rule decides (TreeView)
    this.alarms = 0; // active `alarm` channels at or below this node
    this.predicted = 0; // active `predicted` ones
    this.level = 0; // this channel's own alarm level
    this.leafCount = 0; // channels at or below
  }

  get isLeaf() {
    return this.channel !== null && this.children === null;
  }

  // A unit: a node with points of its own (line → unit → point).
  get isUnit() {
    if (!this.children) return false;
    for (const child of this.children.values()) if (child.channel && !child.children) return true;
    return false;
  }

  get sorted() {
    if (!this.children) return [];
    if (!this.sortedChildren) {
      this.sortedChildren = [...this.children.values()].sort((a, b) => compareNames(a.name, b.name));
    }
    return this.sortedChildren;
  }
}

export class Plant {
  constructor() {
    this.root = new PlantNode("", "", null);
    this.nodes = new Map([["", this.root]]); // path → node
    this.devices = new Map(); // name → status object (with `name`)
    this.devicesByPrefix = new Map(); // prefix → status
    this.writable = new Map(); // path → what a client may write there (from the device's status)
    this.alarmNodes = new Set(); // channels with an active alarm level
    this.structure = 0; // bumped when a node is added or devices change
    this.changed = new Set(); // paths changed since the last `takeChanged`
    this.clockOffset = 0; // hub clock − this browser's clock, ms (see `observe`)
    this.offsetCandidate = -Infinity;
    this.offsetKnown = false;
  }

  get channelCount() {
    return this.root.leafCount;
  }

  node(path) {
    return this.nodes.get(path);
  }

  // The node for `path`, created with its ancestors.
  ensure(path) {
    let node = this.nodes.get(path);
    if (node) return node;
    const cut = path.lastIndexOf("/");
    const parent = this.ensure(path.slice(0, cut));
    node = new PlantNode(path.slice(cut + 1), path, parent);
    if (!parent.children) parent.children = new Map();
    parent.children.set(node.name, node);
    parent.sortedChildren = null;
    this.nodes.set(path, node);
    this.structure++;
    return node;
  }

  // A new version of a channel; older or equal versions are ignored. True when applied.
  apply(path, version, ts, value) {
    const node = this.ensure(path);
    const previous = node.channel;
    if (previous && previous.version >= version) return false;
    if (!previous) for (let n = node; n; n = n.parent) n.leafCount++;
    node.channel = { value, version, ts };
    this.changed.add(path);
    this.updateAlarm(node);
    if (path.startsWith("/plenum/devices/")) {
      const device = DEVICE_STATUS.exec(path);
      if (device) this.updateDevice(device[1], value);
    }
    return true;
  }

  // The hub started a new epoch: its version numbers start again.
  forgetVersions() {
    for (const node of this.nodes.values()) if (node.channel) node.channel.version = 0;
  }

  updateAlarm(node) {
    const level = alarmLevel(node);
    if (level === node.level) return;
    const delta = (l, sign) => {
      for (let n = node; n; n = n.parent) {
        if (l === 2) n.alarms += sign;
        if (l === 1) n.predicted += sign;
      }
    };
    delta(node.level, -1);
    delta(level, +1);
    node.level = level;
    if (level) this.alarmNodes.add(node);
    else this.alarmNodes.delete(node);
    this.structure++;
  }

  updateDevice(name, value) {
    const old = this.devices.get(name);
    if (old && old.prefix) this.devicesByPrefix.delete(old.prefix);
    for (const path of Object.keys(old?.writable || {})) this.writable.delete(path);
    const status = value && typeof value === "object" ? { ...value, name } : { state: String(value), name };
    this.devices.set(name, status);
    if (typeof status.prefix === "string") this.devicesByPrefix.set(status.prefix, status);
    for (const [path, declaration] of Object.entries(status.writable || {})) this.writable.set(path, declaration);
    this.structure++;
  }

  // The device whose prefix is `path` or the nearest above it.
  deviceFor(path) {
    for (let p = path; p; p = p.slice(0, p.lastIndexOf("/"))) {
      const device = this.devicesByPrefix.get(p);
      if (device) return device;
    }
    return null;
  }

  problemDevices() {
    return [...this.devices.values()].filter((d) => PROBLEM_STATES.has(d.state));
  }

  // The unit of a point: from a catalogue its device publishes (`<unit>/modbus/points` or
  // `<unit>/meta/points`, `{name: {unit}}`), else from the point's name.
  unitOf(path) {
    const cut = path.lastIndexOf("/");
    const parent = path.slice(0, cut);
    const name = path.slice(cut + 1);
    for (const catalogue of ["/modbus/points", "/meta/points"]) {
      const entry = this.nodes.get(parent + catalogue)?.channel?.value?.[name];
      if (entry && typeof entry.unit === "string") return entry.unit;
    }
    return unitByName(name);
  }

  // Keeps the estimate of the hub's clock: an update's `ts` is its publish time, never after it
  // arrives, so the largest `ts − now` seen lately is the offset to within the push tick.
  observe(tsMicros) {
    const candidate = tsMicros / 1000 - Date.now();
    if (candidate > this.offsetCandidate) this.offsetCandidate = candidate;
    if (!this.offsetKnown) {
      this.clockOffset = candidate;
      this.offsetKnown = true;
    }
  }

  // Called every few seconds: adopt the largest offset seen since the previous call.
  settleClock() {
    if (this.offsetCandidate > -Infinity) {
      this.clockOffset = this.offsetCandidate;
      this.offsetCandidate = -Infinity;
    }
  }

  hubNow() {
    return Date.now() + this.clockOffset;
  }

  takeChanged() {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }

  // The units at or below `node`, in tree order, at most `limit`; a unit's own sub-groups
  // (`predictor`, `modbus`) belong to it. Also how many there are in all.
  unitsUnder(node, limit) {
    const units = [];
    let total = 0;
    const walk = (n) => {
      if (n.isUnit) {
        if (units.length < limit) units.push(n);
        total++;
        return;
      }
      for (const child of n.sorted) {
        // The hub's own channels (device states) are not plant units, unless asked for.
        if (child.children && !(child.path === "/plenum" && node !== child)) walk(child);
      }
    };
    walk(node);
    return { units, total };
  }

  // Every channel at or below `node`, in tree order, at most `limit`.
  leavesUnder(node, limit) {
    const leaves = [];
    const walk = (n) => {
      if (leaves.length >= limit) return;
      if (n.channel) leaves.push(n);
      for (const child of n.sorted) walk(child);
    };
    walk(node);
    return leaves;
  }
}
