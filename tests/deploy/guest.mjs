// Helpers of the suite's emulated Raspberry Pi systems (vm.test.mjs: Debian without
// ShareThings, installing the package; image.test.mjs: the Raspberry Pi image): booting them
// under qemu-system-aarch64, the service's sandbox as systemd and the kernel report it, and a
// newer version of a package to upgrade to.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { freePort, start } from './lib.mjs';

/** The MAC address bootQemu gives the guest's network card. */
export const GUEST_MAC = '52:54:00:12:34:56';

/**
 * Boots qemu's `virt` machine (Cortex-A53, as on a Pi 3; 2 CPUs, 1 GiB) with `kernel`,
 * `initrd` and the kernel command line `append`, one virtio disk (`disk`: { file, format })
 * and a user-mode network on which each guest port of `forward` ({ name: guestPort }) is
 * reachable on a free port of 127.0.0.1 (returned as `ports`). The guest's serial console is
 * the process's output; `console()` returns what it printed so far. Exiting the guest exits
 * qemu (-no-reboot). With `capture`, every packet on the guest's network is written there
 * (pcap; capture.mjs reads it).
 */
export async function bootQemu({ name, kernel, initrd, append, disk, forward, capture }) {
  const ports = {};
  const fwd = [];
  for (const [what, guestPort] of Object.entries(forward)) {
    ports[what] = await freePort();
    fwd.push(`hostfwd=tcp:127.0.0.1:${ports[what]}-:${guestPort}`);
  }
  let consoleText = '';
  const proc = start(name, 'qemu-system-aarch64', [
    '-M', 'virt', '-cpu', 'cortex-a53', '-smp', '2', '-m', '1024', '-nographic', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', `console=ttyAMA0 panic=-1 ${append}`,
    '-drive', `file=${disk.file},format=${disk.format},if=virtio,cache=unsafe`,
    '-netdev', `user,id=n0,${fwd.join(',')}`, '-device', `virtio-net-pci,netdev=n0,mac=${GUEST_MAC}`,
    ...(capture ? ['-object', `filter-dump,id=capture,netdev=n0,file=${capture}`] : []),
    '-device', 'virtio-rng-pci',
  ]);
  proc.child.stdout.on('data', (chunk) => { consoleText += chunk.toString(); });
  return { proc, ports, console: () => consoleText };
}

/**
 * Expects `sharethings.service` to be running with the unit's sandbox in force, as systemd
 * reports it (`systemctl show`) and as the kernel sees the process (/proc/PID/status).
 * `sh(script)` runs a shell script as root in the guest and resolves its output.
 */
export async function assertSandboxed(sh) {
  const expected = {
    DynamicUser: 'yes', NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes',
    PrivateDevices: 'yes', DevicePolicy: 'closed', PrivateUsers: 'yes', PrivateIPC: 'yes', PrivateMounts: 'yes',
    ProtectProc: 'invisible', ProcSubset: 'pid', ProtectHostname: 'yes', ProtectClock: 'yes',
    ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectKernelLogs: 'yes', ProtectControlGroups: 'yes',
    KeyringMode: 'private', LockPersonality: 'yes', MemoryDenyWriteExecute: 'yes', RestrictRealtime: 'yes',
    RestrictSUIDSGID: 'yes', RestrictNamespaces: 'yes', RemoveIPC: 'yes', UMask: '0077', CapabilityBoundingSet: '', AmbientCapabilities: '',
    SystemCallArchitectures: 'native', SystemCallErrorNumber: '1', MemoryMax: String(256 * 1024 * 1024), TasksMax: '64',
    LimitNOFILE: '8192', ExecMainStatus: '0', ActiveState: 'active', SubState: 'running',
  };
  const got = await unitProperties(sh, [...Object.keys(expected), 'IPAddressDeny', 'RestrictAddressFamilies', 'SystemCallFilter', 'IPAddressAllow', 'MainPID']);
  for (const [k, v] of Object.entries(expected)) assert.equal(got[k], v, k);
  assert.deepEqual(got.IPAddressDeny.split(' ').sort(), ['0.0.0.0/0', '::/0']);
  assert.deepEqual(got.RestrictAddressFamilies.split(' ').sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  assert.match(got.SystemCallFilter, /\bepoll_wait\b/);
  assert.doesNotMatch(got.SystemCallFilter, /(^| )(mount|reboot|setrlimit)( |$)/, 'no @privileged or @resources calls allowed');
  assert.match(got.IPAddressAllow, /127\.0\.0\.0\/8/);
  // And in the kernel's own view of the running process.
  const status = await sh(`grep -E '^(Uid|Gid|NoNewPrivs|Seccomp|CapEff|CapBnd|CapPrm):' /proc/${got.MainPID}/status`);
  const field = (n) => status.match(new RegExp(`^${n}:\\s+(.*)$`, 'm'))[1].trim();
  assert.ok(field('Uid').split(/\s+/).every((u) => u !== '0'), `runs as a dynamic user, not root: ${field('Uid')}`);
  assert.equal(field('NoNewPrivs'), '1');
  assert.equal(field('Seccomp'), '2', 'system-call filter active');
  for (const c of ['CapEff', 'CapBnd', 'CapPrm']) assert.match(field(c), /^0+$/, c);
}

/** `systemctl show` of the service as { Property: value }. */
export async function unitProperties(sh, props, unit = 'sharethings.service') {
  const out = await sh(`systemctl show ${unit} ${props.map((p) => `-p ${p}`).join(' ')}`);
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * The package `deb` as version `version`, into `dir`: the same files, a newer version, so
 * that installing it is an upgrade as from one release to the next (dpkg runs the old
 * package's prerm and the new one's postinst with the old version).
 */
export function repackAs(deb, version, dir) {
  const tree = path.join(dir, 'tree');
  const run = (cmd, args) => {
    const res = spawnSync(cmd, args, { encoding: 'utf8' });
    assert.equal(res.status, 0, `${cmd} ${args.join(' ')}: ${res.stderr}`);
  };
  run('dpkg-deb', ['-R', deb, tree]);
  run('sed', ['-i', `s/^Version: .*/Version: ${version}/`, path.join(tree, 'DEBIAN/control')]);
  const out = path.join(dir, `${path.basename(deb, '.deb').replace(/_[^_]+_/, `_${version}_`)}.deb`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', tree, out]);
  return out;
}
