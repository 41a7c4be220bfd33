// tree.js — the plant tree, virtualised: only the rows in view exist in the DOM (a pool of a
// few dozen elements reused while scrolling), so 10,000 channels cost what 40 do.

import { element, formatAge, formatValue } from "./format.js";

const ROW_HEIGHT = 24; // px; style.css gives .row the same height
const OVERSCAN = 8;

export class TreeView {
  constructor(container, plant, { onSelect }) {
    this.container = container;
    this.plant = plant;
    this.onSelect = onSelect;
    this.rows = []; // the visible nodes, flattened
    this.pool = [];
    this.selected = null;
    this.filter = "";
    this.builtFor = -1; // plant.structure the rows were flattened for
    this.expandedRevision = 0;
    this.builtExpanded = -1;
    this.spacer = element("div", "tree-spacer");
    this.layer = element("div", "tree-rows");
    this.spacer.append(this.layer);
    container.append(this.spacer);
    container.addEventListener("scroll", () => this.render(), { passive: true });
    container.addEventListener("click", (event) => this.click(event));
    this.renders = 0;
  }

  // The default for nodes nobody opened or closed: lines and units are open on a plant of a
  // size one can read; on a large one only the top level.
  isExpanded(node) {
    if (node.expanded !== undefined) return node.expanded;
    if (node.depth === 0) return true;
    if (node.depth === 1) return node.name !== "plenum";
    return node.depth < 3 && this.plant.channelCount <= 2000 && !node.path.startsWith("/plenum");
  }

  toggle(node) {
    node.expanded = !this.isExpanded(node);
    this.expandedRevision++;
    this.refresh();
  }

  // Opens every ancestor of `path`, so that it is in the list.
  reveal(path) {
    for (let node = this.plant.node(path)?.parent; node && node.depth > 0; node = node.parent) {
      if (!this.isExpanded(node)) {
        node.expanded = true;
        this.expandedRevision++;
      }
    }
    this.refresh();
  }

  setFilter(text) {
    this.filter = text.trim().toLowerCase();
    this.container.scrollTop = 0;
    this.expandedRevision++;
    this.refresh();
  }

  select(path) {
    this.selected = path;
    this.render();
  }

  // Scrolls so that the selected row is in view.
  scrollToSelected() {
    const index = this.rows.findIndex((node) => node.path === this.selected);
    if (index < 0) return;
    const top = index * ROW_HEIGHT;
    const view = this.container;
    if (top < view.scrollTop || top + ROW_HEIGHT > view.scrollTop + view.clientHeight) {
      view.scrollTop = Math.max(0, top - view.clientHeight / 3);
    }
    this.render();
  }

  // Re-flattens when nodes were added or opened/closed; then redraws what is in view.
  refresh() {
    if (this.builtFor !== this.plant.structure || this.builtExpanded !== this.expandedRevision) {
      this.flatten();
      this.builtFor = this.plant.structure;
      this.builtExpanded = this.expandedRevision;
    }
    this.render();
  }

  flatten() {
    const rows = [];
    const filter = this.filter;
    let keep = null;
    if (filter) {
      // Matching nodes and their ancestors; everything in the path counts.
      keep = new Set();
      for (const [path, node] of this.plant.nodes) {
        if (node.depth > 0 && path.toLowerCase().includes(filter)) {
          for (let n = node; n && !keep.has(n); n = n.parent) keep.add(n);
        }
      }
    }
    const walk = (node) => {
      for (const child of node.sorted) {
        if (keep && !keep.has(child)) continue;
        rows.push(child);
        if (child.children && (keep ? true : this.isExpanded(child))) walk(child);
      }
    };
    walk(this.plant.root);
    this.rows = rows;
    this.spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    // A shorter list: keep the view inside it.
    const end = Math.max(0, rows.length * ROW_HEIGHT - this.container.clientHeight);
    if (this.container.scrollTop > end) this.container.scrollTop = end;
  }

  render() {
    const view = this.container;
    const first = Math.max(0, Math.floor(view.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((view.scrollTop + view.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    const count = Math.max(0, last - first);
    while (this.pool.length < count) {
      const row = this.makeRow();
      this.pool.push(row);
      this.layer.append(row.element);
    }
    this.layer.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const now = this.plant.hubNow();
    for (let i = 0; i < this.pool.length; i++) {
      const row = this.pool[i];
      if (i >= count) {
        if (!row.element.hidden) {
          row.element.hidden = true;
          delete row.element.dataset.path;
          row.cache.path = null;
        }
        row.node = null;
        continue;
      }
      row.element.hidden = false;
      this.fill(row, this.rows[first + i], now);
    }
    this.renders++;
  }

  makeRow() {
    const el = element("div", "row");
    el.setAttribute("role", "treeitem");
    const parts = {
      twisty: element("span", "twisty"),
      name: element("span", "name"),
      badge: element("span", "badge"),
      value: element("span", "value"),
      unit: element("span", "unit"),
      age: element("span", "age"),
    };
    el.append(parts.twisty, parts.name, parts.badge, parts.value, parts.unit, parts.age);
    return { element: el, parts, node: null, cache: {} };
  }

  fill(row, node, now) {
    const { element: el, parts, cache } = row;
    row.node = node;
    const set = (key, target, text) => {
      if (cache[key] !== text) {
        cache[key] = text;
        target.textContent = text;
      }
    };
    if (cache.path !== node.path) {
      cache.path = node.path;
      el.dataset.path = node.path;
      el.style.paddingLeft = `${(node.depth - 1) * 14 + 4}px`;
      el.title = node.path;
    }
    set("twisty", parts.twisty, node.children ? (this.isExpanded(node) || this.filter ? "▾" : "▸") : "");
    set("name", parts.name, node.name);
    const channel = node.channel;
    set("value", parts.value, channel ? formatValue(channel.value) : "");
    set("unit", parts.unit, channel && typeof channel.value === "number" ? this.plant.unitOf(node.path) : "");
    set("age", parts.age, channel ? formatAge(now - channel.ts / 1000) : "");
    // Badges: a device's state where it is not running, alarms below a closed node.
    const device = this.plant.devicesByPrefix.get(node.path);
    let badge = "";
    let badgeClass = "badge";
    if (device && device.state !== "running") {
      badge = device.state;
      badgeClass += ` state-${device.state}`;
    } else if (node.children && (node.alarms || node.predicted)) {
      badge = node.alarms ? `${node.alarms} alarm${node.alarms > 1 ? "s" : ""}` : `${node.predicted} predicted`;
      badgeClass += node.alarms ? " level-alarm" : " level-predicted";
    }
    set("badge", parts.badge, badge);
    if (parts.badge.className !== badgeClass) parts.badge.className = badgeClass;
    let className = "row";
    if (node.path === this.selected) className += " selected";
    if (node.level === 2) className += " level-alarm";
    else if (node.level === 1) className += " level-predicted";
    // A value whose device is not running is not being updated.
    if (channel && this.plant.deviceFor(node.path)?.state && this.plant.deviceFor(node.path).state !== "running") {
      className += " stale";
    }
    if (el.className !== className) el.className = className;
  }

  click(event) {
    const el = event.target.closest(".row");
    if (!el) return;
    const node = this.plant.node(el.dataset.path);
    if (!node) return;
    if (event.target.classList.contains("twisty") && node.children) {
      this.toggle(node);
      return;
    }
    if (node.children && !node.channel && !this.isExpanded(node)) this.toggle(node);
    this.onSelect(node.path);
  }

  get domRows() {
    return this.layer.childElementCount;
  }
}
