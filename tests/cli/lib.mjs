// Helpers of the CLI suite: running target/release/sharethings-cli as a child process (its
// output, exit code and peak RSS from /proc), a TCP proxy whose connections can be cut, and
// browser devices. Servers, HAProxy and certificates come from tests/deploy/lib.mjs, the
// browser from tests/e2e/harness.mjs.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO, waitFor } from '../deploy/lib.mjs';
import { join, joined } from '../e2e/harness.mjs';

export const CLI = process.env.SHARETHINGS_CLI_BIN || path.join(REPO, 'target/release/sharethings-cli');
export const PASS = 'amber-comet-lake-seven-violet-plum';
export const MiB = 1024 * 1024;

const running = new Set();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Starts the CLI with `args`; the passphrase goes in the environment, never argv.
 * Returns { child, out(), err(), exited (resolves with the exit code), peakRssKiB() }.
 */
export function cli(args, { server, session, passphrase = PASS, ca, input, env = {}, name = 'cli' } = {}) {
  const vars = {
    PATH: process.env.PATH,
    SHARETHINGS_SERVER: server,
    SHARETHINGS_SESSION: session,
    SHARETHINGS_NAME: name,
    SHARETHINGS_PASSPHRASE: passphrase,
    SHARETHINGS_CA: ca,
    ...env,
  };
  const child = spawn(CLI, args, {
    env: Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)),
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  let peak = 0;
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  if (input !== undefined) child.stdin.end(input);
  // VmHWM is the peak resident set so far; sample it until the process is gone.
  const sampler = setInterval(() => {
    try {
      const m = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch { /* exited */ }
  }, 50);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      running.delete(child);
      resolve(code ?? signal);
    });
  });
  return {
    child,
    exited,
    out: () => out,
    err: () => err,
    peakRssKiB: () => peak,
    describe: () => `sharethings-cli ${args.join(' ')}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`,
    stop: () => { child.kill('SIGTERM'); return exited; },
  };
}

/** Runs the CLI to its end; resolves { code, out, err }. */
export async function cliRun(args, opts) {
  const c = cli(args, opts);
  const code = await c.exited;
  return { code, out: c.out(), err: c.err(), describe: c.describe };
}

/** Waits until the CLI's stderr matches `re` (it prints a note per step). */
export function cliSays(c, re, timeout = 60000) {
  return waitFor(`sharethings-cli to say ${re}`, () => {
    if (re.test(c.err())) return true;
    if (c.child.exitCode !== null) throw Object.assign(new Error(`exited early:\n${c.describe()}`), { fatal: true });
    return false;
  }, { timeout });
}

/**
 * A loopback TCP proxy to `port` that can cut every connection it carries (a reset, as a
 * dropped Wi-Fi looks to the server), while it keeps accepting new ones.
 */
export async function cuttableProxy(port) {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(port, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => { sockets.delete(a); b.destroy(); });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    accepted: () => accepted,
    cut() {
      for (const s of sockets) s.resetAndDestroy();
    },
    close: () => new Promise((resolve) => { server.close(resolve); for (const s of sockets) s.destroy(); }),
  };
}

/**
 * A browser of `suite` (tests/e2e/harness.mjs's browserSuite, which closes it) joined to
 * `session` at `base`; `insecureCert` accepts the throwaway CA.
 */
export async function browserIn(suite, base, session, name, { insecureCert = false } = {}) {
  const d = await suite.device({ args: insecureCert ? ['--ignore-certificate-errors'] : [] });
  await d.page.goto(base);
  await join(d.page, { session, name, passphrase: PASS });
  await joined(d.page);
  return d;
}

/** Waits until the web app lists a member called `name`. */
export async function seesMember(page, name) {
  await waitFor(`the web app to list ${name}`, async () =>
    (await page.getByTestId('member-name').allInnerTexts()).some((n) => n.startsWith(name)));
}
