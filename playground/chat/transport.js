// How the chat page talks to the server: GraphQL over HTTP (POST /graphql) and a small
// graphql-transport-ws client for live updates over a WebSocket on the same path.
// No page logic here: callers decide what a result or a lost connection means to the person.

const HTTP_URL = new URL('/graphql', window.location.href).href;
const SOCKET_URL = HTTP_URL.replace(/^http/, 'ws');
const PROTOCOL = 'graphql-transport-ws';

/** A failed request, with what the person can be told about it. */
export class RequestError extends Error {
  /**
   * @param {string} message readable explanation
   * @param {string} code the server's error code, or NETWORK_ERROR when it was not reached
   * @param {number} [retryAfter] seconds to wait, for RATE_LIMITED
   * @param {object} [details] the error's `extensions.details` (for ASSISTANT_UNAVAILABLE, the
   *   stored `userMessage`)
   */
  constructor(message, code, retryAfter, details) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details || {};
  }
}

/**
 * Runs one query or mutation. Resolves to `data`; rejects with a RequestError carrying the
 * first error's `extensions.code`.
 */
export async function graphql(query, variables, apiKey) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (apiKey) headers['X-API-Key'] = apiKey;
  let response;
  try {
    response = await fetch(HTTP_URL, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch (_) {
    throw new RequestError('The server cannot be reached.', 'NETWORK_ERROR');
  }
  let body;
  try {
    body = await response.json();
  } catch (_) {
    throw new RequestError(`The server answered ${response.status} without a result.`, 'INTERNAL_ERROR');
  }
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const first = body.errors[0];
    const extensions = first.extensions || {};
    const code = extensions.code || 'INTERNAL_ERROR';
    throw new RequestError(
      first.message || 'The request failed.',
      code,
      extensions.retryAfter,
      extensions.details,
    );
  }
  return body.data;
}

/**
 * A graphql-transport-ws connection that keeps itself alive: it connects on `connect()` or
 * when the first subscription starts, sends `connection_init` with `{apiKey}` when a key is set, answers
 * `ping` with `pong`, and after a lost connection reconnects with growing, jittered delays and
 * subscribes again. `onStatus(state, detail)` reports `connecting`, `live` (detail.reconnected
 * is true after an outage: results may have been missed), `waiting` (detail.delayMs) and
 * `refused` (the key was not accepted; no retry).
 */
export class LiveSocket {
  constructor({ apiKey, onStatus }) {
    this.apiKey = apiKey || '';
    this.onStatus = onStatus || (() => {});
    this.socket = null;
    this.acknowledged = false;
    this.subscriptions = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.hadConnection = false;
    this.retryTimer = null;
    this.keepaliveTimer = null;
    this.lastHeard = 0;
    this.refused = false;
    this.closed = false;
    window.addEventListener('online', () => this.retryNow());
  }

  /**
   * Starts a subscription; `handlers` has next(payload), error(errors) and complete().
   * Returns a function that stops it.
   */
  subscribe(query, variables, handlers) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, handlers });
    if (this.acknowledged) {
      this.send({ id, type: 'subscribe', payload: { query, variables } });
    } else {
      this.connect();
    }
    return () => {
      if (this.subscriptions.delete(id) && this.acknowledged) {
        this.send({ id, type: 'complete' });
      }
    };
  }

  /** Stops everything for good. */
  close() {
    this.closed = true;
    this.subscriptions.clear();
    this.drop();
  }

  retryNow() {
    if (this.retryTimer !== null && !this.refused && !this.closed) {
      window.clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.connect();
    }
  }

  /** Opens the connection unless it is open, opening, refused or waiting to retry. */
  connect() {
    if (this.socket || this.closed || this.refused || this.retryTimer !== null) return;
    this.onStatus('connecting', {});
    const socket = new WebSocket(SOCKET_URL, PROTOCOL);
    this.socket = socket;
    socket.onopen = () => {
      const payload = this.apiKey ? { apiKey: this.apiKey } : {};
      this.send({ type: 'connection_init', payload });
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.lost(socket, event.code);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  receive(text) {
    this.lastHeard = Date.now();
    let message;
    try {
      message = JSON.parse(text);
    } catch (_) {
      return;
    }
    const subscription = message.id ? this.subscriptions.get(message.id) : null;
    switch (message.type) {
      case 'connection_ack':
        this.acknowledged = true;
        this.attempt = 0;
        this.startKeepalive();
        for (const [id, s] of this.subscriptions) {
          this.send({ id, type: 'subscribe', payload: { query: s.query, variables: s.variables } });
        }
        this.onStatus('live', { reconnected: this.hadConnection });
        this.hadConnection = true;
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'next':
        if (subscription) subscription.handlers.next(message.payload);
        break;
      case 'error':
        if (subscription) {
          this.subscriptions.delete(message.id);
          subscription.handlers.error(message.payload);
        }
        break;
      case 'complete':
        if (subscription) {
          this.subscriptions.delete(message.id);
          subscription.handlers.complete();
        }
        break;
      default:
        break; // `pong` and anything newer: nothing to do.
    }
  }

  // Sends a protocol ping every 15 s; a connection silent for 40 s is treated as lost.
  startKeepalive() {
    window.clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = window.setInterval(() => {
      if (Date.now() - this.lastHeard > 40000 && this.socket) {
        this.socket.close(4000, 'silent');
        return;
      }
      this.send({ type: 'ping' });
    }, 15000);
  }

  drop() {
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.keepaliveTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    this.acknowledged = false;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000, 'bye');
    }
  }

  lost(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.acknowledged = false;
    window.clearInterval(this.keepaliveTimer);
    if (this.closed) return;
    if (code === 4403) {
      this.refused = true;
      this.onStatus('refused', { code });
      return;
    }
    // 0.5 s, 1 s, 2 s … up to 15 s, each between half and all of that.
    const ceiling = Math.min(15000, 500 * 2 ** this.attempt);
    const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt += 1;
    this.onStatus('waiting', { delayMs });
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delayMs);
  }
}
