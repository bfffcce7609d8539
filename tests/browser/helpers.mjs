// Shared by the browser tests: starts the real chatgate binary, launches Debian's Chromium with
// every host but 127.0.0.1 unresolvable, and records whatever goes wrong on a page.
//
// Environment (set by tests/browser.rs): CHATGATE_BIN, the server binary; CHROMIUM_PATH, the
// browser; ARTIFACTS_DIR, where screenshots go.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const BIN = required('CHATGATE_BIN');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = process.env.ARTIFACTS_DIR || path.resolve('artifacts');

/** Upper bound for any single wait in these tests. */
export const WAIT_MS = 10_000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run these tests through \`cargo test\``);
  return value;
}

/**
 * A running chatgate on 127.0.0.1. `port` 0 picks a free one; `env` adds settings such as
 * API_KEYS. `restart()` stops it and starts a fresh one (empty store) on the same port.
 */
export async function startServer({ env = {}, port = 0 } = {}) {
  const child = spawn(BIN, ['--host', '127.0.0.1', '--port', String(port)], {
    // Only these settings: whatever the calling shell exports (DATABASE_URL, API_KEYS…) stays out.
    env: { PATH: process.env.PATH, RUST_LOG: 'info', LOG_FORMAT: 'json', SHUTDOWN_TIMEOUT: '5', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${log.join('\n')}`)), WAIT_MS);
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        log.push(line);
        try {
          const entry = JSON.parse(line);
          if (entry.message === 'chatgate listening') {
            clearTimeout(timer);
            resolve(entry.address);
          }
        } catch (_) {
          // Not JSON: kept in the log for the failure message.
        }
      });
    }
    exited.then((code) => reject(new Error(`chatgate exited with ${code}:\n${log.join('\n')}`)));
  });
  const url = `http://${address}`;
  const server = {
    url,
    port: Number(address.split(':').pop()),
    log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`chatgate exited with ${code}:\n${log.join('\n')}`);
    },
    async restart() {
      await server.stop();
      return startServer({ env, port: server.port });
    },
  };
  return server;
}

/** Headless Chromium that can resolve no host but 127.0.0.1: a CDN dependency fails. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Records on `page` every console error, uncaught exception, failed request, answer of 400 or
 * more, and any request to another origin than `origin`.
 */
export function watch(page, origin) {
  const problems = [];
  const sockets = [];
  const wsOrigin = origin.replace(/^http/, 'ws');
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) {
      problems.push(`request to another origin: ${url}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  page.on('websocket', (socket) => {
    if (!socket.url().startsWith(`${wsOrigin}/`)) {
      problems.push(`socket to another origin: ${socket.url()}`);
    }
    const record = { url: socket.url(), sent: [], received: [] };
    socket.on('framesent', (frame) => record.sent.push(parse(frame.payload)));
    socket.on('framereceived', (frame) => record.received.push(parse(frame.payload)));
    sockets.push(record);
  });
  return { problems, sockets };
}

function parse(payload) {
  try {
    return JSON.parse(payload);
  } catch (_) {
    return { unparsed: String(payload) };
  }
}

/** Polls `condition` every 25 ms until it returns a truthy value; fails after `limitMs`. */
export async function until(what, condition, limitMs = WAIT_MS) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Saves a screenshot of `page` as ARTIFACTS_DIR/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** A REST call; resolves to the parsed JSON body (null for 204) after checking the status. */
export async function rest(server, method, route, { body, key, status } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers['X-API-Key'] = key;
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (status !== undefined && response.status !== status) {
    throw new Error(`${method} ${route}: ${response.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** The built-in assistant's answer to text it has no special reply for. */
export function echoReply(text) {
  return `You said: "${text}" Tell me more, or type "help" to see what I can do.`;
}

/**
 * Whether a `next` frame received on any recorded socket carries a message with `content`
 * (the subscription proves it is registered by delivering something).
 */
export function delivered(sockets, content) {
  return sockets.some((socket) =>
    socket.received.some(
      (frame) =>
        frame.type === 'next' && JSON.stringify(frame.payload ?? null).includes(JSON.stringify(content)),
    ),
  );
}

/**
 * A model server on 127.0.0.1 speaking OpenAI's streamed Chat Completions, for
 * `ASSISTANT=openai`: each request is answered with the next scripted reply, one chunk per
 * word, then `finish_reason`, usage and `data: [DONE]`. A reply can stop after some of its
 * words until the test calls `next()`, so a test can look at a reply half-written.
 * `model.url` is the base URL to configure.
 */
export async function startFakeModel() {
  const script = [];
  const waiting = [];
  const requests = [];
  const sockets = new Set();
  const chunk = (delta, finish = null) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-browser',
      object: 'chat.completion.chunk',
      created: 1760000000,
      model: 'browser-model',
      choices: [{ index: 0, delta, finish_reason: finish }],
    })}\n\n`;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (piece) => {
      body += piece;
    });
    request.on('end', async () => {
      requests.push(JSON.parse(body));
      const reply = script.shift() ?? { words: ['Default', ' reply.'] };
      if (reply.status) {
        response.writeHead(reply.status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'down', type: 'server_error', param: null, code: null } }));
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      response.write(chunk({ role: 'assistant', content: '' }));
      for (const [index, word] of reply.words.entries()) {
        if ((reply.holdAfter ?? []).includes(index)) {
          await new Promise((resolve) => waiting.push(resolve));
        }
        response.write(chunk({ content: word }));
      }
      response.write(chunk({}, 'stop'));
      response.end('data: [DONE]\n\n');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1`,
    requests,
    /** Queues a reply: `{words, holdAfter: [word indexes to stop before]}` or `{status}`. */
    script(reply) {
      script.push(reply);
    },
    /** Whether a reply is stopped, waiting for `next()`. */
    holding() {
      return waiting.length > 0;
    },
    /** Lets the stopped reply go on. */
    next() {
      waiting.shift()?.();
    },
    async close() {
      while (waiting.length > 0) waiting.shift()();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
