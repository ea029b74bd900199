// Running target/release/sharethings-cli as a child process: its output, exit code and peak
// RSS from /proc. Only node's own modules and tests/deploy/lib.mjs: the deploy suite, which
// has no browser, runs the CLI too.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, waitFor } from '../deploy/lib.mjs';

export const CLI = process.env.SHARETHINGS_CLI_BIN || path.join(REPO, 'target/release/sharethings-cli');
export const PASS = 'amber-comet-lake-seven-violet-plum';
export const MiB = 1024 * 1024;

const running = new Set();
const stores = [];
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
  for (const d of stores) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A key store folder of its own (a machine that is a stranger to every session); the CLI also
 * keeps its state there (what it has of a session's inbox).
 */
export function newStore() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sharethings-store-'));
  stores.push(d);
  return d;
}

/**
 * Starts the CLI with `args`; the passphrase goes in the environment, never argv (`null`:
 * none at all). `store` is its machine's folder (XDG_DATA_HOME and XDG_STATE_HOME); by default
 * a new one, so each run is a stranger unless a test gives two runs the same machine.
 * Returns { child, out(), err(), exited (resolves with the exit code), peakRssKiB() }.
 */
export function cli(args, { server, session, passphrase = PASS, ca, input, env = {}, name = 'cli', store = newStore() } = {}) {
  const vars = {
    PATH: process.env.PATH,
    XDG_DATA_HOME: store,
    XDG_STATE_HOME: store,
    SHARETHINGS_SERVER: server,
    SHARETHINGS_SESSION: session,
    SHARETHINGS_NAME: name,
    SHARETHINGS_PASSPHRASE: passphrase,
    SHARETHINGS_CA: ca,
    ...env,
  };
  const child = spawn(CLI, args, {
    env: Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined && v !== null)),
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

/** Waits until the CLI's stderr matches `re` (it prints a note per step); says what it said if not. */
export function cliSays(c, re, timeout = 60000) {
  return cliShows(c, `sharethings-cli to say ${re}`, () => re.test(c.err()), timeout);
}

/** Waits until `check()` holds while the CLI `c` runs; says what it said if not. */
export async function cliShows(c, what, check, timeout = 60000) {
  try {
    return await waitFor(what, () => {
      if (check()) return true;
      if (c.child.exitCode !== null) throw Object.assign(new Error(`exited early:\n${c.describe()}`), { fatal: true });
      return false;
    }, { timeout });
  } catch (e) {
    if (e.fatal) throw e;
    throw new Error(`${e.message}\n${c.describe()}`);
  }
}
