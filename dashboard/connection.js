// connection.js — the page's one WebSocket to the hub: subscribes to everything, keeps the
// epoch and the newest version of each channel, and after any disconnect reconnects by itself
// and resumes from there (docs/protocol.md, "Reconnecting without losing anything"). Also the
// token: kept in sessionStorage, sent as a subprotocol (WebSocket) and as a Bearer header (REST).

const TOKEN_KEY = "plenum.token";
const RETRY_MS = [500, 1000, 2000, 4000, 5000];
// A subscribe with positions must stay under the hub's server.max_message_bytes (64 KiB by
// default); beyond this the page subscribes afresh and reloads its charts from the history.
const RESUME_BUDGET = 60000;
// A hub that wants a token says nothing until it gets one.
const WELCOME_WAIT_MS = 3000;

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// GET on the hub's REST API with the token, if any. Resolves to {status, body}; a 401 also
// calls `onUnauthorized`.
export async function api(path, { onUnauthorized } = {}) {
  const headers = { Accept: "application/json" };
  const held = token();
  if (held) headers.Authorization = `Bearer ${held}`;
  const response = await fetch(path, { headers, cache: "no-store" });
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (response.status === 401 && onUnauthorized) onUnauthorized(body?.error || "this hub needs a token");
  return { status: response.status, body };
}

export class HubConnection {
  // handlers: onState(state, detail), onWelcome(welcome, sameEpoch), onSubscribed(message),
  // onSnapshot(channels), onUpdate(message), onError(message), onAuthNeeded(reason)
  constructor(handlers, patterns = ["/**"]) {
    this.handlers = handlers;
    this.patterns = patterns;
    this.epoch = null;
    this.positions = new Map(); // channel → newest version received
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.welcomeTimer = null;
    this.resumeRefused = false; // the hub closed a resume as too large (1009): do not try again
    this.lastResume = null; // { recovered, replayed } after the latest resume
    this.messages = 0;
    this.stopped = false;
    this.writes = new Map(); // id → callback for the `written` answer
    this.nextWrite = 1;
  }

  // Asks the hub to write `value` to `channel` (docs/protocol.md, "Writing"); `done` gets the
  // `written` answer, or a refusal made here when the page is not connected.
  write(channel, value, done) {
    if (!this.ws || !this.welcomed) {
      done({ ok: false, code: "disconnected", message: "not connected to the hub" });
      return;
    }
    const id = `w${this.nextWrite++}`;
    this.writes.set(id, done);
    this.ws.send(JSON.stringify({ op: "write", channel, value, id }));
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  // Drops the connection and connects again now (after a new token).
  restart() {
    clearTimeout(this.retryTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/ws`;
    const held = token();
    this.handlers.onState("connecting", this.attempt ? `attempt ${this.attempt + 1}` : "");
    let ws;
    try {
      ws = held ? new WebSocket(url, ["plenum", `plenum.bearer.${held}`]) : new WebSocket(url);
    } catch (error) {
      // The browser refuses a subprotocol with a space, a quote, … (a pasted "Bearer …"): that is
      // no token of the hub's, and retrying cannot help. The message would show the token: not used.
      if (held && error.name === "SyntaxError") {
        this.handlers.onState("unauthorised", "not a token");
        this.handlers.onAuthNeeded("That is not a token: tokens are 43 letters, digits, '-' and '_' (no spaces, no \"Bearer\").");
        return;
      }
      this.scheduleRetry(String(error));
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    ws.onopen = () => {
      clearTimeout(this.welcomeTimer);
      if (!held) {
        this.welcomeTimer = setTimeout(() => {
          if (this.welcomed || this.ws !== ws) return;
          this.handlers.onState("unauthorised", "no token");
          this.handlers.onAuthNeeded("This hub needs a token.");
        }, WELCOME_WAIT_MS);
      }
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event);
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (_) {
      return;
    }
    this.messages++;
    switch (message.type) {
      case "welcome":
        this.welcome(message);
        break;
      case "subscribed":
        if (message.recovered !== undefined) {
          this.lastResume = { recovered: message.recovered };
        }
        this.handlers.onSubscribed(message);
        break;
      case "snapshot":
        for (const c of message.channels) this.note(c.channel, c.version);
        this.handlers.onSnapshot(message.channels);
        break;
      case "update":
        this.note(message.channel, message.version);
        this.handlers.onUpdate(message);
        break;
      case "error":
        this.handlers.onError(message);
        break;
      case "written": {
        const done = this.writes.get(message.id);
        this.writes.delete(message.id);
        if (done) done(message);
        break;
      }
      default:
        break;
    }
  }

  note(channel, version) {
    const known = this.positions.get(channel);
    if (known === undefined || version > known) this.positions.set(channel, version);
  }

  welcome(message) {
    this.welcomed = true;
    clearTimeout(this.welcomeTimer);
    const sameEpoch = this.epoch !== null && message.epoch === this.epoch;
    if (this.epoch !== null && !sameEpoch) this.positions.clear(); // a new epoch: positions mean nothing
    this.epoch = message.epoch;
    this.attempt = 0;
    const subscribe = { op: "subscribe", channels: this.patterns, id: "dashboard" };
    this.lastResume = null;
    if (sameEpoch && this.positions.size > 0 && !this.resumeRefused) {
      const resume = { epoch: this.epoch, channels: Object.fromEntries(this.positions) };
      if (JSON.stringify(resume).length < RESUME_BUDGET) subscribe.resume = resume;
    }
    this.resuming = subscribe.resume !== undefined;
    this.ws.send(JSON.stringify(subscribe));
    this.handlers.onWelcome(message, sameEpoch);
    this.handlers.onState("live", message.identity ? `as ${message.identity}` : "");
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    clearTimeout(this.welcomeTimer);
    this.ws = null;
    // Writes still unanswered: the hub may or may not have applied them.
    for (const done of this.writes.values()) {
      done({ ok: false, code: "disconnected", message: "the connection closed before the hub answered; read the channel to know" });
    }
    this.writes.clear();
    if (this.stopped) return;
    if (event.code === 1009 && this.resuming) this.resumeRefused = true;
    if (event.code === 4001) {
      this.handlers.onState("unauthorised", event.reason || "no valid token");
      this.handlers.onAuthNeeded(token() ? `The hub did not accept the token (${event.reason || "4001"}).` : "This hub needs a token.");
      return;
    }
    if (event.code === 4003) {
      this.handlers.onState("unauthorised", event.reason || "token revoked");
      this.handlers.onAuthNeeded(`The hub closed the connection: ${event.reason || "token revoked"}.`);
      return;
    }
    this.scheduleRetry(event.code === 1001 ? event.reason || "the hub is restarting" : `closed (${event.code})`);
  }

  scheduleRetry(reason) {
    const delay = RETRY_MS[Math.min(this.attempt, RETRY_MS.length - 1)];
    this.attempt++;
    this.handlers.onState("disconnected", reason, delay);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
