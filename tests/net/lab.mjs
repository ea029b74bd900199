// The Wi-Fi in the test tree (issue 26): the server and each client in their own network
// namespace, each joined by a veth pair to a bridge namespace where examples/wifi switches
// frames between them through each port's profile (good, poor, wired). Namespace and
// interface names carry this process's pid, so that runs side by side never meet; everything
// is removed on exit, also when the test fails.
//
// Addresses are in 198.18.0.0/15, the block set aside for benchmarking network devices
// (RFC 2544), and live only inside these namespaces: nothing here has a route anywhere else.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, waitFor } from '../e2e/harness.mjs';

export const WIFI = join(ROOT, 'target/release/examples/wifi');
export const SERVER_ADDRESS = '198.18.0.1';

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (ns, cmd, ...args) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

const labs = new Set();
function removeAll() {
  for (const lab of labs) lab.remove();
}
process.on('exit', removeAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    removeAll();
    process.exit(1);
  });
}

/**
 * Builds the namespaces: `server` on a wired port and one station per entry of `stations`
 * ({ name, profile }), with TCP congestion control `congestion` in all, and starts the switch. Returns the lab: `ns(name)`, `address(name)`,
 * `exec(name, cmd, args)`, `spawnIn(name, cmd, args, opts)`, `switchCommand(line)`,
 * `readdress(name)` (the station gets a new address, as after a new DHCP lease), `remove()`.
 */
export async function buildLab(stations, { congestion = 'reno' } = {}) {
  const tag = `st${process.pid % 1_000_000}`;
  const prefix = `stnet-${process.pid}`;
  const names = ['server', ...stations.map((s) => s.name)];
  const profiles = ['wired', ...stations.map((s) => s.profile)];
  const bridge = `${prefix}-br`;
  const namespaces = [bridge, ...names.map((n) => `${prefix}-${n}`)];
  const children = new Set();
  const dir = mkdtempSync(join(tmpdir(), 'sharethings-net-'));
  const lab = {
    ns: (name) => `${prefix}-${name}`,
    address: (name) => `198.18.0.${names.indexOf(name) + 1}`,
    exec: (name, cmd, args = []) => inNs(lab.ns(name), cmd, ...args),
    remove() {
      if (!labs.delete(lab)) return;
      for (const child of children) {
        try {
          child.kill('SIGKILL');
        } catch {
          // Gone already.
        }
      }
      for (const ns of namespaces) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // Never made, or gone.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  labs.add(lab);
  for (const ns of namespaces) ip('netns', 'add', ns);
  const sysctl = (ns, ...settings) => {
    for (const s of settings) inNs(ns, 'sysctl', '-qw', s);
  };
  sysctl(bridge, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  names.forEach((name, i) => {
    const ns = lab.ns(name);
    const [outer, inner] = [`${tag}b${i}`, `${tag}e${i}`];
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    ip('link', 'set', outer, 'netns', bridge);
    ip('link', 'set', inner, 'netns', ns);
    ip('-n', bridge, 'link', 'set', outer, 'name', `p${i}`);
    ip('-n', ns, 'link', 'set', inner, 'name', 'eth0');
    // A Pi, a phone and a laptop run CUBIC (Debian's, Raspberry Pi OS's, Android's and
    // Apple's default), which on links of this size (a bandwidth-delay product of a few
    // hundred packets) stays in its Reno-friendly region. This kernel defaults to BBR, which
    // shrugs off random loss, and lets a namespace other than the first choose only Reno or
    // BBR: Reno, then, unless the caller asks for BBR.
    sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', `net.ipv4.tcp_congestion_control=${congestion}`);
    ip('-n', ns, 'addr', 'add', `${lab.address(name)}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', bridge, 'link', 'set', `p${i}`, 'up');
    // Whole frames with their checksums, one MTU at a time: the switch sees what a radio
    // would send, and the loss and air time apply per packet, not per 64 KiB super-packet.
    inNs(ns, 'ethtool', '-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off');
    inNs(bridge, 'ethtool', '-K', `p${i}`, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off');
  });
  const ports = profiles.map((p, i) => `p${i}=${p}`);
  const sw = spawn('ip', ['netns', 'exec', bridge, WIFI, 'switch', ...ports], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(sw);
  let said = '';
  const waiting = [];
  sw.stdout.on('data', (d) => {
    said += d;
    let nl;
    while ((nl = said.indexOf('\n')) >= 0) {
      const line = said.slice(0, nl);
      said = said.slice(nl + 1);
      if (line !== 'ready') waiting.shift()?.(line);
      else waiting.ready = true;
    }
  });
  await waitFor(() => waiting.ready === true, { what: 'the Wi-Fi switch' });

  /** Sends a command to the switch (`dark p1 20`, `profile p1 poor`, `stats`); its answer. */
  lab.switchCommand = (line) =>
    new Promise((resolve, reject) => {
      waiting.push((answer) => (answer.startsWith('ok') ? resolve(answer) : reject(new Error(answer))));
      sw.stdin.write(`${line}\n`);
    });
  lab.port = (name) => `p${names.indexOf(name)}`;
  /** Starts `cmd` inside `name`'s namespace; killed when the lab is removed. */
  lab.spawnIn = (name, cmd, args = [], opts = {}) => {
    const child = spawn('ip', ['netns', 'exec', lab.ns(name), cmd, ...args], opts);
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  /** A station takes a new address on the same link (a new DHCP lease after a dropout). */
  lab.readdress = (name, last) => {
    const ns = lab.ns(name);
    ip('-n', ns, 'addr', 'flush', 'dev', 'eth0');
    ip('-n', ns, 'addr', 'add', `198.18.0.${last}/24`, 'dev', 'eth0');
  };
  /** A Chromium that runs inside `name`'s namespace (for playwright's executablePath). */
  lab.chromiumIn = (name) => {
    const path = join(dir, `chromium-${name}`);
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${lab.ns(name)} ${process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'} "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  return lab;
}
