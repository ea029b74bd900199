// The Raspberry Pi image of packaging/image/build.sh, flashed and booted twice.
//
// The .img.xz is written to a 4 GiB "card" (a sparse file), the settings file on its boot
// partition filled in as a person would on any computer (with Windows line ends), and the
// card booted under qemu-system-aarch64: the `virt` machine with a Pi 3's CPU, the image's
// own kernel and initramfs (read from the boot partition, as the Pi firmware reads them) and
// the kernel command line of its cmdline.txt. The first boot must grow the root file system
// to the card, apply the settings (host name, Wi-Fi, time zone, extra names, SSH key), take
// the Wi-Fi password off the card, make the CA and the certificate, and start ShareThings
// sandboxed behind HAProxy: the test waits for the "ready" line on the console, then checks
// all of that over SSH (the key from the settings file is the only way in) and from outside
// through the forwarded ports, relays two members over wss://, upgrades the package the way
// docs/deploy.md says, and records every packet the guest sends. After a power-off the card
// is read on the host; the second boot must keep the CA, the settings and the upgrade, and
// not run the first boot again.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { guestInitiated } from './capture.mjs';
import { assertSandboxed, bootQemu, repackAs, unitProperties } from './guest.mjs';
import { DEB_DIR, REPO, TEST_CACHE, VERSION, request, tempDir, twoMembersRelay, waitFor } from './lib.mjs';

const IMAGE_DIR = process.env.RASPI_IMAGE_DIR || path.join(TEST_CACHE, 'raspi-image');
const IMAGE = path.join(IMAGE_DIR, `sharethings-${VERSION}-raspi-arm64.img.xz`);
const DEB = path.join(DEB_DIR, `sharethings_${VERSION}_arm64.deb`);
const CARD_BYTES = 4 * 1024 ** 3;
const SECTOR = 512;
// What a person writes into sharethings.txt.
const SETTINGS = {
  hostname: 'Pi-Test', // the image lower-cases it
  wifi_ssid: 'Home "5G" net',
  wifi_password: 'correct horse battery staple',
  wifi_country: 'de',
  timezone: 'Europe/Berlin',
  tls_names: 'share.home.arpa, 192.0.2.10',
};
const NAME = 'pi-test.local';
const AVAHI_NAME = 'busctl call org.freedesktop.Avahi / org.freedesktop.Avahi.Server GetHostNameFqdn';
// Boards of docs/deploy.md and the device tree each one's firmware loads (upstream names,
// config.txt's upstream_kernel=1).
const BOARD_DTBS = [
  'bcm2837-rpi-3-b.dtb', 'bcm2837-rpi-3-b-plus.dtb', 'bcm2837-rpi-3-a-plus.dtb', 'bcm2837-rpi-cm3-io3.dtb',
  'bcm2837-rpi-zero-2-w.dtb', 'bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-400.dtb', 'bcm2711-rpi-cm4-io.dtb',
];
const FIRMWARE = ['bootcode.bin', 'start.elf', 'fixup.dat', 'start4.elf', 'fixup4.dat'];
const READY = new RegExp(`ShareThings is ready at https://${NAME.replace('.', '\\.')}/ \\(this Pi's addresses: 10\\.0\\.2\\.15[^)]*\\)\\.`);
const BOOT_TIMEOUT = 15 * 60000;

const dir = tempDir('sharethings-image-');
const card = path.join(dir, 'card.img');
const capture = path.join(dir, 'network.pcap');
const key = path.join(dir, 'id_ed25519');
const phases = [];
const phase = (what, since) => phases.push(`${what} ${((Date.now() - since) / 1000).toFixed(0)} s`);
after(() => { if (phases.length) console.log(`image timings: ${phases.join(', ')}`); });

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (res.error) throw res.error;
  assert.equal(res.status, 0, `${cmd} ${args.join(' ')}:\n${res.stdout}${res.stderr}`);
  return res.stdout;
}

/** The card's partitions (sfdisk), and mtools' name for the boot partition's file system. */
function partitions() {
  const table = JSON.parse(run('sfdisk', ['--json', card])).partitiontable;
  return { table, fat: `${card}@@${table.partitions[0].start * SECTOR}` };
}
const fatRead = (file) => run('mtype', ['-i', partitions().fat, `::${file}`]);
const fatList = () => run('mdir', ['-i', partitions().fat, '-b', '::/']).split('\n').filter(Boolean).map((l) => l.replace(/^::\//, ''));

/** Runs `script` as root on the guest over SSH; resolves { rc, out }. */
function ssh(port, script, timeout = 120000) {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-p', String(port), '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=30', 'root@127.0.0.1', 'sh', '-s'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ssh timed out after ${timeout} ms:\n${script}`)); }, timeout);
    child.on('exit', (rc) => { clearTimeout(timer); resolve({ rc, out }); });
    child.stdin.end(script);
  });
}

/** One boot of the card: qemu, the ports forwarded, and `sh` (SSH, expecting exit 0). */
async function boot(label) {
  const since = Date.now();
  const vm = await bootQemu({
    name: `qemu ${label}`, kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), append: bootArgs,
    disk: { file: card, format: 'raw' }, forward: { ssh: 22, https: 443, http: 80 }, capture: label === 'first boot' ? capture : undefined,
  });
  vm.sh = async (script, timeout) => {
    const { rc, out } = await ssh(vm.ports.ssh, script, timeout);
    assert.equal(rc, 0, `guest command failed (${rc}):\n${script}\n--- output ---\n${out}`);
    return out;
  };
  await waitFor(`the ready line on the console (${label})`, () => {
    if (!vm.proc.running) throw Object.assign(new Error(`qemu exited\n${vm.console().slice(-5000)}`), { fatal: true });
    return READY.test(vm.console());
  }, { timeout: BOOT_TIMEOUT, every: 500 });
  vm.readySeconds = (Date.now() - since) / 1000;
  phase(`${label} to ready`, since);
  // SSH starts beside ShareThings (making its host keys first), not necessarily before it.
  await waitFor(`SSH on the guest (${label})`, async () => (await ssh(vm.ports.ssh, 'true', 60000)).rc === 0, { timeout: 5 * 60000, every: 1000 });
  return vm;
}

async function powerOff(vm) {
  await ssh(vm.ports.ssh, 'systemctl poweroff', 60000).catch(() => { /* the connection drops */ });
  await waitFor('qemu to exit after the power-off', () => !vm.proc.running, { timeout: 5 * 60000, every: 500 });
}

/** The certificate HAProxy presents for `servername`, and the CA served over plain HTTP. */
function peerCertificate(port, servername, ca) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

let bootArgs;
let bootFiles; // what the boot partition held before the first boot
let first;
/** Waits until avahi on the first boot's guest answers for `name` (`waitFor`'s `opts`). */
const avahiAnswersFor = (name, opts) =>
  waitFor(`avahi to answer for ${name}`, async () => (await first.sh(AVAHI_NAME)).trim() === `s "${name}"`, opts);
let ca;

before(async () => {
  assert.ok(fs.existsSync(IMAGE), `${IMAGE} missing: packaging/image/build.sh failed or was not run`);
  assert.ok(fs.existsSync(DEB), `${DEB} missing: packaging/build-deb.sh failed or was not run`);
  let since = Date.now();
  // "Flashing": the image, decompressed onto the card.
  run('bash', ['-c', `xz -dc '${IMAGE}' | dd of='${card}' bs=1M conv=sparse status=none && truncate -s ${CARD_BYTES} '${card}'`]);
  phase('xz -d onto the card', since);
  bootFiles = { list: fatList(), config: fatRead('config.txt'), cmdline: fatRead('cmdline.txt'), settings: fatRead('sharethings.txt') };
  const kernel = bootFiles.config.match(/^kernel=(\S+)$/m)?.[1];
  const initrd = bootFiles.config.match(/^initramfs (\S+)$/m)?.[1];
  assert.ok(kernel && initrd, `config.txt names a kernel and an initramfs:\n${bootFiles.config}`);
  run('mcopy', ['-i', partitions().fat, `::${kernel}`, path.join(dir, 'vmlinuz')]);
  run('mcopy', ['-i', partitions().fat, `::${initrd}`, path.join(dir, 'initrd.img')]);
  // cmdline.txt as the Pi firmware passes it, but the consoles of qemu's machine (bootQemu).
  bootArgs = bootFiles.cmdline.trim().split(/\s+/).filter((a) => !a.startsWith('console=')).join(' ');

  // The settings, as someone fills in the template on their computer.
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'image-test', '-f', key]);
  const values = { ...SETTINGS, ssh_key: fs.readFileSync(`${key}.pub`, 'utf8').trim() };
  let text = bootFiles.settings;
  for (const [k, v] of Object.entries(values)) {
    const line = new RegExp(`^#${k}=.*$`, 'm');
    assert.match(text, line, `the template offers ${k}`);
    text = text.replace(line, `${k}=${k === 'wifi_ssid' ? `"${v}"` : v}`);
  }
  fs.writeFileSync(path.join(dir, 'sharethings.txt'), text.replaceAll('\n', '\r\n'));
  run('mcopy', ['-o', '-i', partitions().fat, path.join(dir, 'sharethings.txt'), '::sharethings.txt']);

  first = await boot('first boot');
});

after(async () => { await first?.proc.stop(); });

describe('the Raspberry Pi image, first boot', { timeout: 40 * 60000 }, () => {
  test('the card: an MBR with RASPIFIRM (FAT32) and RASPIROOT (ext4); the Pi firmware, kernel, initramfs and device trees on RASPIFIRM', () => {
    const { table } = partitions();
    assert.equal(table.label, 'dos');
    assert.deepEqual(table.partitions.map((p) => p.type), ['c', '83']);
    assert.equal(table.partitions[0].start * SECTOR, 4 * 1048576);
    for (const f of [...FIRMWARE, ...BOARD_DTBS]) assert.ok(bootFiles.list.includes(f), `${f} on the boot partition: ${bootFiles.list.join(' ')}`);
    assert.match(bootFiles.config, /^arm_64bit=1$/m);
    assert.match(bootFiles.config, /^upstream_kernel=1$/m);
    assert.ok(bootFiles.list.includes(bootFiles.config.match(/^kernel=(\S+)$/m)[1]), 'the kernel config.txt names is there');
    assert.ok(bootFiles.list.includes(bootFiles.config.match(/^initramfs (\S+)$/m)[1]), 'the initramfs config.txt names is there');
    assert.match(bootFiles.cmdline.trim(), /^console=ttyS1,115200 console=tty0 root=LABEL=RASPIROOT rw .*net\.ifnames=0 .*rootwait$/);
    assert.match(bootFiles.settings, /^# sharethings\.txt: /);
  });

  test(`is ready within ${BOOT_TIMEOUT / 60000} min of power-on: the console says where, with the CA's fingerprint`, () => {
    const line = first.console().match(/ShareThings is ready at .*\r?\n.*\r?\n/)[0];
    console.log(`image first boot: ready after ${first.readySeconds.toFixed(0)} s of emulated power-on:\n  ${line.trim().replace(/\r?\n/, '\n  ')}`);
    assert.match(line, new RegExp(`trust this server: http://${NAME.replace('.', '\\.')}/sharethings-ca\\.crt \\(SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\\)`));
  });

  test('the root file system grew to the end of the card', async () => {
    const out = await first.sh('findmnt -bno SOURCE,SIZE /; lsblk -bdno SIZE /dev/vda; cat /sys/class/block/vda2/start /sys/class/block/vda2/size');
    const [[source, fsBytes], [disk], [start], [sectors]] = out.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.equal(source, '/dev/vda2');
    assert.equal(Number(disk), CARD_BYTES);
    assert.equal((Number(start) + Number(sectors)) * SECTOR, CARD_BYTES, 'the partition ends where the card does');
    assert.ok(Number(fsBytes) > CARD_BYTES - 600 * 1048576, `ext4 is ${fsBytes} bytes on a ${CARD_BYTES}-byte card`);
  });

  test('sharethings.txt took effect: host name (on mDNS too), time zone, Wi-Fi as a derived key only, SSH by key only, no root password', async () => {
    const out = await first.sh([
      'hostname', 'cat /etc/hostname',
      'readlink /etc/localtime', 'stat -c %a /etc/wpa_supplicant/wpa_supplicant-wlan0.conf',
      'systemctl is-enabled wpa_supplicant@wlan0.service',
      'sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin) "',
      "awk -F: '$2 !~ /^[*!]/ { print \"usable password: \" $1 }' /etc/shadow",
    ].join('; '));
    const lines = out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 5), ['pi-test', 'pi-test', '/usr/share/zoneinfo/Europe/Berlin', '600', 'enabled']);
    // Once (2026-12-07) avahi took "pi-test-2.local", as after a name conflict with itself:
    // then the image's timer asks for the name again within a minute (the next test).
    const mdns = await first.sh(AVAHI_NAME);
    if (mdns.trim() !== `s "${NAME}"`) {
      console.log(`# avahi answered ${mdns.trim()}; its journal:\n${await first.sh('journalctl -b -u avahi-daemon --no-pager | tail -n 40')}`);
      await avahiAnswersFor(NAME, { timeout: 150000, every: 5000 });
    }
    assert.deepEqual(lines.slice(5).sort(), ['kbdinteractiveauthentication no', 'passwordauthentication no', 'permitrootlogin without-password']);
    // The key WPA derives from the password and the SSID (PBKDF2-SHA1, 4096 rounds), worked
    // out here: the file holds it and neither the password nor anything else of it.
    const wpa = await first.sh('cat /etc/wpa_supplicant/wpa_supplicant-wlan0.conf');
    const psk = crypto.pbkdf2Sync(SETTINGS.wifi_password, SETTINGS.wifi_ssid, 4096, 32, 'sha1').toString('hex');
    assert.match(wpa, /^country=DE$/m);
    assert.match(wpa, new RegExp(`^\\s*ssid=${Buffer.from(SETTINGS.wifi_ssid).toString('hex')}$`, 'm'));
    assert.match(wpa, new RegExp(`^\\s*psk=${psk}$`, 'm'));
    const grep = await ssh(first.ports.ssh, `grep -rlF --devices=skip '${SETTINGS.wifi_password}' /etc /root /home /var /boot/firmware /run 2>/dev/null`);
    assert.equal(grep.out, '', 'the Wi-Fi password is nowhere on the card, the logs included');
  });

  test('avahi that took another name after a conflict is asked for the host name again', async () => {
    // What avahi does after a conflict, done on purpose: it answers as "pi-test-2.local".
    const renamed = await first.sh(`busctl call org.freedesktop.Avahi / org.freedesktop.Avahi.Server SetHostName s pi-test-2; ${AVAHI_NAME}`);
    assert.equal(renamed.trim(), 's "pi-test-2.local"');
    // The timer that runs the check once a minute is on; one run of the check, now:
    const out = await first.sh('systemctl is-active sharethings-mdns-name.timer; systemctl start sharethings-mdns-name.service; journalctl -b -u sharethings-mdns-name --no-pager -o cat | grep "^avahi answers" | tail -n 1');
    assert.deepEqual(out.trim().split('\n'), ['active', 'avahi answers as pi-test-2.local, not pi-test.local: asking for pi-test.local again']);
    await avahiAnswersFor(NAME, { timeout: 30000, every: 1000 });
  });

  test('the Wi-Fi password is gone from the boot partition; the rest of sharethings.txt is as written', async () => {
    const now = await first.sh('cat /boot/firmware/sharethings.txt');
    assert.doesNotMatch(now, /wifi_password\s*=/);
    assert.doesNotMatch(now, new RegExp(SETTINGS.wifi_password));
    assert.match(now, /^# wifi_password: applied at the first boot and removed from this file$/m);
    assert.match(now, /^wifi_ssid="Home "5G" net"\r$/m);
    assert.match(now, /^hostname=Pi-Test\r$/m);
  });

  test('ShareThings runs sandboxed under systemd', async () => {
    await assertSandboxed(first.sh);
  });

  test('HTTPS through HAProxy serves the app with the certificate for the names given; the CA is served over plain HTTP', async () => {
    const res = await request(`http://127.0.0.1:${first.ports.http}/sharethings-ca.crt`, { timeout: 20000 });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-x509-ca-cert');
    assert.equal(res.body, await first.sh('cat /etc/haproxy/certs/sharethings-ca.crt'));
    ca = res.body;
    const redirect = await request(`http://127.0.0.1:${first.ports.http}/`, { timeout: 20000 });
    assert.equal(redirect.headers.location, `https://${NAME}/`);
    const cert = await peerCertificate(first.ports.https, NAME, ca);
    assert.deepEqual(cert.subjectaltname.split(', ').sort(), ['DNS:pi-test.local', 'DNS:share.home.arpa', 'IP Address:192.0.2.10']);
    const agent = new https.Agent({ ca, servername: NAME });
    const app = await request(`https://127.0.0.1:${first.ports.https}/`, { agent, headers: { host: NAME }, timeout: 20000 });
    assert.equal(app.status, 200);
    assert.match(app.body, /<title>ShareThings<\/title>/);
    assert.match(app.headers['strict-transport-security'] ?? '', /max-age=31536000/, 'answered through HAProxy');
    for (const [host, status] of [['share.home.arpa', 200], ['evil.example', 421]]) {
      const r = await request(`https://127.0.0.1:${first.ports.https}/health`, { agent, headers: { host }, timeout: 20000 });
      assert.equal(r.status, status, `Host: ${host}`);
    }
  });

  test('two members relay through HAProxy (wss://, trusting only that CA)', { timeout: 300000 }, async () => {
    await twoMembersRelay(`https://127.0.0.1:${first.ports.https}`, 'image-first', { ca, servername: NAME, transports: ['websocket'], timeout: 90000 });
  });

  test('an upgrade with the two commands of docs/deploy.md keeps /etc/sharethings/ and the CA, and restarts the service', { timeout: 600000 }, async () => {
    const since = Date.now();
    const newer = repackAs(DEB, `${VERSION}+upgrade1`, tempDir('sharethings-upgrade-'));
    const settings = 'find /etc/sharethings /etc/haproxy/certs /etc/haproxy/sharethings.cfg -type f -exec sha256sum {} + | sort -k2';
    const before = await first.sh(settings);
    assert.match(before, /\/etc\/sharethings\/ca\/sharethings-ca\.key$/m);
    const pid = (await unitProperties(first.sh, ['MainPID'])).MainPID;
    // docs/deploy.md: `scp sharethings_<new>_arm64.deb root@<name>.local:` then
    // `ssh root@<name>.local apt install ./sharethings_<new>_arm64.deb`.
    run('scp', ['-q', '-P', String(first.ports.ssh), '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', newer, 'root@127.0.0.1:']);
    const out = await first.sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y ./${path.basename(newer)}`, 600000);
    assert.match(out, new RegExp(`Unpacking sharethings \\(${VERSION}\\+upgrade1\\) over \\(${VERSION}\\)`));
    assert.equal(await first.sh(settings), before, '/etc/sharethings/, the CA and HAProxy\'s configuration are kept');
    assert.notEqual((await unitProperties(first.sh, ['MainPID'])).MainPID, pid, 'restarted');
    const agent = new https.Agent({ ca, servername: NAME });
    await waitFor('the upgraded server through HAProxy', async () => (await request(`https://127.0.0.1:${first.ports.https}/health`, { agent, timeout: 20000 })).status === 200, { timeout: 120000, every: 500 });
    phase('upgrade', since);
  });

  test('nothing phones home: all the guest started on the network was DHCP, mDNS, and NTP with its DNS lookups', async () => {
    // Read while the guest runs: filter-dump writes every packet as it passes.
    const allowed = (p) => (p.what === 'udp' && p.port === 67) // DHCP
      || (p.what === 'udp' && p.port === 547 && p.to.startsWith('ff02')) // DHCPv6
      || (p.what === 'udp' && p.port === 5353 && (p.to === '224.0.0.251' || p.to.startsWith('ff02'))) // mDNS: avahi
      || (p.what === 'udp' && p.port === 123) // NTP: systemd-timesyncd
      || (p.what === 'udp' && p.port === 53 && p.names.every((n) => /(^|\.)debian\.pool\.ntp\.org$/.test(n))); // its servers' names
    const started = guestInitiated(fs.readFileSync(capture));
    const unexpected = started.filter((p) => !allowed(p));
    const kinds = [...new Set(started.map((p) => `${p.what}/${p.port}`))].sort();
    console.log(`image first boot: the guest started ${started.length} packets (${kinds.join(', ')})`);
    assert.deepEqual(unexpected, []);
    // And the capture does see what the guest starts: a connection to a documentation address.
    await ssh(first.ports.ssh, 'curl -s -m 3 http://192.0.2.1/');
    await waitFor('the capture to show the guest\'s connection to 192.0.2.1', () => guestInitiated(fs.readFileSync(capture))
      .some((p) => p.what === 'tcp' && p.to === '192.0.2.1' && p.port === 80), { timeout: 30000, every: 500 });
  });

  test('powered off, the card holds no Wi-Fi password', async () => {
    await powerOff(first);
    const settings = fatRead('sharethings.txt');
    assert.doesNotMatch(settings, new RegExp(SETTINGS.wifi_password));
    assert.match(settings, /^wifi_country=de\r$/m);
  });
});

describe('the Raspberry Pi image, second boot', { timeout: 30 * 60000 }, () => {
  let second;
  before(async () => { second = await boot('second boot'); });
  after(async () => { await second?.proc.stop(); });

  test('keeps the CA, the names, the settings and the upgrade; the first boot does not run again', async () => {
    const res = await request(`http://127.0.0.1:${second.ports.http}/sharethings-ca.crt`, { timeout: 20000 });
    assert.equal(res.body, ca, 'the same CA');
    const cert = await peerCertificate(second.ports.https, NAME, ca);
    assert.match(cert.subjectaltname, /DNS:share\.home\.arpa/);
    const out = await second.sh("hostname; dpkg-query -W -f='${Version}\\n' sharethings; systemctl show -p ConditionResult --value sharethings-firstboot.service; test ! -e /var/lib/sharethings-image/tls-names && echo no-pending-names");
    assert.equal(out, `pi-test\n${VERSION}+upgrade1\nno\nno-pending-names\n`);
    assert.match(second.console(), READY);
    console.log(`image second boot: ready after ${second.readySeconds.toFixed(0)} s`);
  });
});
