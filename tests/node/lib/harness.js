// Shared plumbing for the interop tests: start the real server binaries on free ports, wait
// on conditions with deadlines (never fixed sleeps), collect the events a client receives.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

/** The repository root, found from this file (tests/node/lib/). */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = {
  conformance: path.join(ROOT, 'target', 'release', 'examples', 'conformance'),
  sharethings: path.join(ROOT, 'target', 'release', 'sharethings'),
};

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Starts a server binary and resolves once it printed the line matching `ready` (whose first
 * group is the port). Its output is drained all the time (a full pipe would block the server)
 * and the last lines are kept for failure messages.
 */
function startProcess(binary, args, env, ready, { timeout = 10000 } = {}) {
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} is missing: run tests/node/run.sh, which builds it`);
  }
  const child = spawn(binary, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const tail = [];
  const keep = (line) => {
    tail.push(line);
    if (tail.length > 50) tail.shift();
  };
  let exited = null;
  const exitedPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve(exited);
    });
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(binary)} did not report its port in ${timeout} ms:\n${tail.join('\n')}`));
    }, timeout);
    const onLine = (line) => {
      keep(line);
      const m = settled ? null : ready.exec(line);
      if (m) {
        settled = true;
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          child,
          pid: child.pid,
          port,
          url: `http://127.0.0.1:${port}`,
          tail,
          exited: () => exited,
          async kill(signal = 'SIGKILL') {
            if (exited) return exited;
            child.kill(signal);
            return exitedPromise;
          },
        });
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data) => {
      buffered += data;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (data) => {
      for (const line of data.split('\n')) if (line) keep(line);
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${path.basename(binary)} exited (${code ?? signal}) before listening:\n${tail.join('\n')}`));
    });
  });
}

/** The conformance example; `port` 0 asks for an ephemeral one. */
function startConformance(port = 0) {
  return startProcess(BIN.conformance, [], { PORT: String(port), LOG_LEVEL: 'warn' },
    /conformance server listening on 127\.0\.0\.1:(\d+)/);
}

/** The ShareThings server with extra flags, on an ephemeral port. */
function startShareThings(flags = []) {
  return startProcess(BIN.sharethings, ['--host', '127.0.0.1', '--port', '0', ...flags], {},
    /listening on http:\/\/127\.0\.0\.1:(\d+)\//);
}

/** Resolves when `check()` returns a truthy value (which it resolves to); rejects at the deadline. */
async function waitFor(check, { timeout = 5000, interval = 10, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** The arguments of the next `event` on `emitter`, or a rejection after `timeout` ms. */
function once(emitter, event, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`no '${event}' within ${timeout} ms`));
    }, timeout);
    const handler = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, handler);
  });
}

/**
 * Records every event a Socket.IO client socket receives, in order, so a test can wait for
 * one and later assert what else did or did not arrive.
 */
class Inbox {
  constructor(socket) {
    this.socket = socket;
    this.events = [];
    this.waiters = [];
    this.skipped = new Set();
    socket.onAny((event, ...args) => {
      if (this.skipped.has(event)) return;
      this.events.push({ event, args, at: Date.now() });
      for (const w of [...this.waiters]) w();
    });
  }

  /** Stops recording these events (bulk traffic a test checks itself, not to hold it in memory). */
  skip(...events) {
    for (const e of events) this.skipped.add(e);
  }

  /** What arrived, as counts per event name, for failure messages. */
  summary() {
    const counts = new Map();
    for (const e of this.events) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
    return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ') || 'nothing';
  }

  /** Events named `event`, as their first arguments. */
  all(event) {
    return this.events.filter((e) => e.event === event).map((e) => e.args[0]);
  }

  /** When the first `event` whose first argument satisfies `pred` arrived (ms since epoch), if it did. */
  arrival(event, pred = () => true) {
    return this.events.find((e) => e.event === event && pred(...e.args))?.at;
  }

  /** Waits for the first `event` whose first argument satisfies `pred`, received at any time. */
  wait(event, pred = () => true, timeout = 5000) {
    const find = () => this.events.find((e) => e.event === event && pred(...e.args));
    return new Promise((resolve, reject) => {
      const hit = find();
      if (hit) return resolve(hit.args[0]);
      const waiter = () => {
        const found = find();
        if (!found) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        resolve(found.args[0]);
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no '${event}' matching within ${timeout} ms (saw: ${this.summary()})`));
      }, timeout);
      this.waiters.push(waiter);
    });
  }
}

/** `socket.emit` with an ack, rejecting if the ack does not come within `timeout` ms. */
function ask(socket, event, payload, timeout = 5000) {
  return socket.timeout(timeout).emitWithAck(event, payload);
}

/** A plain HTTP GET; resolves `{status, body}`. */
function httpGet(port, urlPath, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

/** VmRSS of a process, in KiB. */
function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

module.exports = { ROOT, BIN, startConformance, startShareThings, startProcess, waitFor, once, Inbox, ask, httpGet, rssKiB };
