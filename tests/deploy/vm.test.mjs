// The arm64 package on the real thing, emulated: Debian bookworm arm64 booted under
// qemu-system-aarch64 with systemd as PID 1 (the Raspberry Pi image's own system without
// ShareThings, tests/deploy/vm/build-image.sh; each run boots a throwaway copy-on-write overlay
// of it). apt installs the package; systemd must have enabled and started the service with the
// unit's sandboxing in force; sharethings-setup-tls configures HAProxy; two real
// socket.io-client members relay through HAProxy's wss:// and, after an edit of the env
// file, straight to the server; the server killed (kill -9) while one CLI on the host sends a
// file to another is started again by systemd, and the file arrives whole; with the clock
// stepped forward an hour members stay and a token still rejoins; 10,000 failed joins from one
// address leave members elsewhere (CLIs in the guest) working; HAProxy restarted while two CLIs
// in the guest send a file through it, they get back in and it arrives whole; an upgrade to a
// newer version keeps the edited env file and the CA; purge leaves the system as it was
// before the install.
//
// The guest is driven by its test agent (tests/deploy/vm/agent.sh), which fetches shell
// commands from an HTTP server of this file on 127.0.0.1 (qemu's user network shows the host's
// loopback to the guest as 10.0.2.2); the guest's ports 3001, 443 and 80 are forwarded to
// free ports on 127.0.0.1.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesIn, randomFile, sha256File } from '../files.mjs';
import { PASS, cli, cliSays, cliShows } from '../cli/process.mjs';
import { assertSandboxed, bootQemu, repackAs, unitProperties } from './guest.mjs';
import {
  DEB_DIR, TEST_CACHE, VERSION, fingerprint, freePort, io, member, pairJoined, relay, request, routeKey, tempDir,
  twoMembersRelay, waitFor,
} from './lib.mjs';

const IMAGE = process.env.DEPLOY_VM_DIR || path.join(TEST_CACHE, 'deploy-vm/bookworm-arm64');
const DEB_NAME = `sharethings_${VERSION}_arm64.deb`;
const DEB = path.join(DEB_DIR, DEB_NAME);
// The next release, as far as dpkg can tell: the same files, a newer version.
const NEWER_VERSION = `${VERSION}+upgrade1`;
const NEWER_NAME = `sharethings_${NEWER_VERSION}_arm64.deb`;
const GUEST_HOST = '10.0.2.2';
const NAME = 'sharethings.local';
// What the image is made of: where purge must leave no trace, and what is no one's business.
const SNAPSHOT = 'find /etc /usr /lib /opt /srv /var/lib/systemd/deb-systemd-helper-enabled -xdev 2>/dev/null | LC_ALL=C sort';
const BOOT_TIMEOUT = 15 * 60000;
// The file sent while the server is killed, and how much of it is on the receiver's disk
// first: the whole system is emulated, so it is small.
const FAULT_FILE = 32 * 1024 * 1024;
const FAULT_AT = 4 * 1024 * 1024;

const phases = [];
const phase = (what, since) => phases.push(`${what} ${((Date.now() - since) / 1000).toFixed(0)} s`);
after(() => { if (phases.length) console.log(`vm timings: ${phases.join(', ')}`); });

/** The host side of the guest's agent: a queue of shell scripts and their results. */
function agentServer(files) {
  const waiting = []; // agents' held GET /next responses
  const queue = []; // scripts no agent has taken yet
  const pending = new Map(); // id -> resolve
  let nextId = 1;
  let contacted = null;
  const firstContact = new Promise((resolve) => { contacted = resolve; });
  const hand = (res, job) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`# ${job.id}\n${job.script}\n`);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://agent');
    contacted();
    if (req.method === 'GET' && url.pathname === '/next') {
      const job = queue.shift();
      if (job) { hand(res, job); return; }
      const entry = { res };
      entry.timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(entry), 1);
        res.writeHead(204).end();
      }, 25000);
      waiting.push(entry);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/result') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const done = pending.get(url.searchParams.get('id'));
        pending.delete(url.searchParams.get('id'));
        done?.({ rc: Number(url.searchParams.get('rc')), out: Buffer.concat(chunks).toString() });
        res.writeHead(200).end();
      });
      return;
    }
    const file = req.method === 'GET' && url.pathname.startsWith('/files/') && files[url.pathname.slice(7)];
    if (file) {
      res.writeHead(200, { 'content-length': fs.statSync(file).size });
      fs.createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  return {
    server,
    firstContact,
    /** Runs `script` as root in the guest; resolves { rc, out }. */
    run(script, timeout = 120000) {
      const id = String(nextId++);
      const result = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`guest command timed out after ${timeout} ms:\n${script}`)), timeout);
        pending.set(id, (r) => { clearTimeout(timer); resolve(r); });
      });
      const job = { id, script };
      const agent = waiting.shift();
      if (agent) { clearTimeout(agent.timer); hand(agent.res, job); } else queue.push(job);
      return result;
    },
    close() {
      for (const w of waiting) { clearTimeout(w.timer); w.res.destroy(); }
      server.close();
    },
  };
}

let NEWER;
let agent;
let vm;
let ports; // host ports forwarded to the guest's 3001, 443 and 80

/** Runs `script` in the guest and expects exit code 0; returns its output. */
async function sh(script, timeout) {
  const { rc, out } = await agent.run(script, timeout);
  assert.equal(rc, 0, `guest command failed (${rc}):\n${script}\n--- output ---\n${out}`);
  return out;
}

/** Two members relay through the guest: steps get longer, since the whole system is emulated. */
const relayInGuest = (url, sessionId, opts = {}) => twoMembersRelay(url, sessionId, { timeout: 90000, ...opts });

/**
 * A shell line that starts sharethings-cli in the guest in the background as device `name` of
 * `session` (its key store in `dir`/`name`, its output in `dir`/`name`.log), with `args`.
 * CLIs in the guest reach the server from the guest's own addresses, not from 10.0.2.2.
 */
function guestCli({ dir, session, name, server = 'http://127.0.0.1:3001', ca }, args) {
  const env = `XDG_DATA_HOME=${dir}/${name} XDG_STATE_HOME=${dir}/${name} SHARETHINGS_SERVER=${server} ${ca ? `SHARETHINGS_CA=${ca} ` : ''}SHARETHINGS_SESSION=${session} SHARETHINGS_NAME=${name} SHARETHINGS_PASSPHRASE=${PASS}`;
  return `cd ${dir} && ${env} nohup sharethings-cli ${args} >${dir}/${name}.log 2>&1 </dev/null &`;
}

/** Waits until the guest CLI's log (`dir`/`name`.log) matches `pattern`; if it does not, shows the log. */
async function guestCliSays(dir, name, pattern, what, timeout = 300000) {
  const log = () => sh(`cat ${dir}/${name}.log`);
  await waitFor(what, async () => pattern.test(await log()), { timeout, every: 1000 }).catch(async (err) => {
    throw new Error(`${err.message}\n${name}'s log:\n${await log().catch((e) => e.message)}`);
  });
}

before(async () => {
  for (const f of ['rootfs.img', 'vmlinuz', 'initrd.img']) {
    assert.ok(fs.existsSync(path.join(IMAGE, f)), `${IMAGE}/${f} missing: tests/deploy/vm/build-image.sh failed or was not run`);
  }
  assert.ok(fs.existsSync(DEB), `${DEB} missing: packaging/build-deb.sh failed or was not run`);
  const dir = tempDir('sharethings-vm-');
  NEWER = repackAs(DEB, NEWER_VERSION, dir);
  const overlay = path.join(dir, 'overlay.qcow2');
  const img = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', path.join(IMAGE, 'rootfs.img'), overlay], { encoding: 'utf8' });
  assert.equal(img.status, 0, img.stderr);

  agent = agentServer({ [DEB_NAME]: DEB, [NEWER_NAME]: NEWER });
  const agentPort = await freePort();
  await new Promise((resolve) => agent.server.listen(agentPort, '127.0.0.1', resolve));
  const booted = Date.now();
  vm = await bootQemu({
    name: 'qemu-system-aarch64', kernel: path.join(IMAGE, 'vmlinuz'), initrd: path.join(IMAGE, 'initrd.img'),
    append: `root=/dev/vda rw sharethings.agent=${GUEST_HOST}:${agentPort}`,
    disk: { file: overlay, format: 'qcow2' }, // a throwaway overlay
    forward: { app: 3001, https: 443, http: 80 },
  });
  ports = vm.ports;
  const exited = vm.proc.exited.then((code) => { throw new Error(`qemu exited (${code}) before the agent called\n${vm.proc.output()}`); });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`no agent call within ${BOOT_TIMEOUT} ms\n${vm.proc.output()}`)), BOOT_TIMEOUT).unref());
  await Promise.race([agent.firstContact, exited, timeout]);
  phase('boot to the agent', booted);
});

after(async () => {
  await vm?.proc.stop('SIGTERM');
  agent?.close();
});

describe('the arm64 package on Debian bookworm arm64 under qemu-system-aarch64', { timeout: 40 * 60000 }, () => {
  test('the guest is Debian bookworm on aarch64 with systemd as PID 1', async () => {
    const t = Date.now();
    const out = await sh('uname -m; . /etc/os-release; echo "$ID $VERSION_CODENAME"; readlink /proc/1/exe; systemctl is-system-running --wait; systemctl --failed --no-legend --plain', 600000);
    const [machine, os, pid1, state, ...failedUnits] = out.trim().split('\n');
    assert.equal(machine, 'aarch64');
    assert.equal(os, 'debian bookworm');
    assert.equal(pid1, '/usr/lib/systemd/systemd');
    // "degraded" would name a unit of the bare image that failed; none of it is ours.
    console.log(`vm system state: ${state}${failedUnits.length ? `, failed: ${failedUnits.join('; ')}` : ''}`);
    assert.ok(['running', 'degraded'].includes(state), out);
    phase('systemd up', t);
  });

  test('apt installs the package; systemd enabled and started the service; /health answers', async () => {
    const t = Date.now();
    await sh(`${SNAPSHOT} >/root/before-install.txt`);
    await sh(`curl -sf -o /root/${DEB_NAME} http://${GUEST_HOST}:${agent.server.address().port}/files/${DEB_NAME}`);
    const out = await sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y /root/${DEB_NAME}`, 600000);
    assert.match(out, /Setting up sharethings \(/);
    phase('apt install', t);
    const state = await sh('systemctl is-enabled sharethings.service; systemctl is-active sharethings.service');
    assert.equal(state, 'enabled\nactive\n');
    await sh('i=0; until curl -sf http://127.0.0.1:3001/health; do i=$((i+1)); [ $i -lt 120 ] || exit 1; sleep 0.5; done');
  });

  test('systemd runs it with the unit\'s sandboxing in force', async () => {
    await assertSandboxed(sh);
  });

  test('sharethings-setup-tls: name-constrained CA (key root-only), HAProxy checked and reloaded, the URL printed', async () => {
    const out = await sh(`sharethings-setup-tls ${NAME} 10.0.2.15`, 300000);
    assert.match(out, new RegExp(`ShareThings is at:\\s+https://${NAME.replace('.', '\\.')}/`));
    assert.match(out, /http:\/\/sharethings\.local\/sharethings-ca\.crt/);
    const facts = await sh([
      'stat -c "%a %U %n" /etc/sharethings/ca /etc/sharethings/ca/sharethings-ca.key /etc/haproxy/certs/sharethings.pem',
      'systemctl is-active haproxy',
      'systemctl show haproxy -p Environment',
      'openssl x509 -in /etc/sharethings/ca/sharethings-ca.crt -noout -ext nameConstraints',
    ].join('; '));
    assert.match(facts, /^700 root \/etc\/sharethings\/ca$/m);
    assert.match(facts, /^600 root \/etc\/sharethings\/ca\/sharethings-ca\.key$/m);
    assert.match(facts, /^600 root \/etc\/haproxy\/certs\/sharethings\.pem$/m);
    assert.match(facts, /^active$/m);
    assert.match(facts, /CONFIG=\/etc\/haproxy\/sharethings\.cfg/);
    assert.match(facts, /Permitted:\s+DNS:sharethings\.local\s+IP:10\.0\.2\.15\/255\.255\.255\.255/);
  });

  test('HAProxy serves the CA at the fixed URL over HTTP and redirects the rest to the configured name', async () => {
    const ca = await sh('cat /etc/haproxy/certs/sharethings-ca.crt');
    const res = await waitFor('the CA over plain HTTP', async () => {
      const r = await request(`http://127.0.0.1:${ports.http}/sharethings-ca.crt`, { timeout: 20000 });
      return r.status === 200 && r;
    }, { timeout: 60000, every: 500 });
    assert.equal(res.body, ca);
    assert.equal(res.headers['content-type'], 'application/x-x509-ca-cert');
    const redirect = await request(`http://127.0.0.1:${ports.http}/x?y=1`, { headers: { host: 'evil.example' }, timeout: 20000 });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, `https://${NAME}/x?y=1`);
  });

  test('two members relay through HAProxy (wss://, trusting only the CA fetched from that URL)', { timeout: 300000 }, async () => {
    const ca = (await request(`http://127.0.0.1:${ports.http}/sharethings-ca.crt`, { timeout: 20000 })).body;
    const url = `https://127.0.0.1:${ports.https}`;
    // Without the name the certificate is for, TLS must refuse: 127.0.0.1 is not in it.
    const wrongName = await request(`${url}/health`, { ca, agent: false, timeout: 20000 }).then(() => null, (e) => e);
    assert.match(String(wrongName?.code), /ERR_TLS_CERT_ALTNAME_INVALID/, 'the certificate must not pass for 127.0.0.1');
    await relayInGuest(url, 'vm-haproxy', { ca, servername: NAME, transports: ['websocket'] });
    // setup-tls named NAME as SERVED_HOSTS, and HAProxy passes Host through: the configured
    // name is served, a rebound one gets 421 from the server.
    assert.match(await sh('cat /etc/sharethings/served-hosts.env'), new RegExp(`^SERVED_HOSTS=${NAME.replace('.', '\\.')}$`, 'm'));
    const agent = new https.Agent({ ca, servername: NAME });
    for (const [host, status] of [[NAME, 200], ['evil.example', 421]]) {
      const res = await request(`${url}/health`, { agent, headers: { host }, timeout: 20000 });
      assert.equal(res.status, status, `Host: ${host}: ${res.body}`);
    }
  });

  const editEnv = "sed -i -e 's/^#HOST=127.0.0.1$/HOST=0.0.0.0/' -e 's/^#LOG_LEVEL=info$/LOG_LEVEL=debug/' /etc/sharethings/sharethings.env";
  // The admin's side of serving the LAN directly (as the unit's comments say): a drop-in.
  const lanDropIn = "mkdir -p /etc/systemd/system/sharethings.service.d && printf '[Service]\\nIPAddressAllow=10.0.2.0/24\\n' >/etc/systemd/system/sharethings.service.d/lan.conf";

  test('after an edit of the env file (listen on the LAN), two members relay straight to the server', { timeout: 300000 }, async () => {
    await sh(`${editEnv} && ${lanDropIn} && systemctl daemon-reload && systemctl restart sharethings && grep -x HOST=0.0.0.0 /etc/sharethings/sharethings.env`);
    await waitFor('the server on the forwarded port', async () => (await request(`http://127.0.0.1:${ports.app}/health`, { timeout: 20000 })).status === 200, { timeout: 120000, every: 500 });
    await relayInGuest(`http://127.0.0.1:${ports.app}`, 'vm-direct');
  });

  test('kill -9 of the server mid-transfer: systemd starts it again, and two CLIs on the host get back in and finish the file', { timeout: 600000 }, async () => {
    const before = await unitProperties(sh, ['MainPID', 'NRestarts']);
    const dir = tempDir('sharethings-vm-restart-');
    const received = path.join(dir, 'received');
    fs.mkdirSync(received);
    const file = randomFile(dir, 'big.bin', FAULT_FILE);
    const opts = (name) => ({ server: `http://127.0.0.1:${ports.app}`, session: 'vm-restart', name });
    const receiver = cli(['receive', '--create', '--dir', received], opts('Recv'));
    let sender;
    try {
      await cliSays(receiver, /receiving in session/, 120000);
      sender = cli(['send', file.path], opts('Send'));
      await cliShows(receiver, `${FAULT_AT} bytes on the receiver's disk`, () => bytesIn(received) >= FAULT_AT, 240000);
      await sh(`kill -9 ${before.MainPID}`);
      const killedAt = Date.now();
      const atKill = bytesIn(received);
      assert.doesNotMatch(receiver.err(), /saved/, 'killed before the file was saved');
      await cliShows(receiver, 'the file saved', () => /saved .*big\.bin from Send/.test(receiver.err()), 300000);
      console.log(`vm restart: killed with ${atKill} of ${FAULT_FILE} bytes on disk; saved ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
      assert.equal(sha256File(path.join(received, 'big.bin')), file.hash);
      assert.equal(await sender.exited, 0, sender.describe());
      const after = await unitProperties(sh, ['MainPID', 'NRestarts', 'ActiveState']);
      assert.equal(after.ActiveState, 'active');
      assert.notEqual(after.MainPID, before.MainPID, 'a new server process');
      assert.equal(Number(after.NRestarts), Number(before.NRestarts) + 1, 'systemd restarted it once');
    } finally {
      await receiver.stop();
      await sender?.stop();
    }
  });

  test('the clock stepped forward an hour: members stay, heartbeats keep time, a token still lets its member back in', { timeout: 600000 }, async () => {
    const url = `http://127.0.0.1:${ports.app}`;
    const a = member({ url, sessionId: 'vm-clock', name: 'Clock A' });
    const b = member({ url, sessionId: 'vm-clock', name: 'Clock B' });
    let back;
    try {
      await pairJoined(a, b, 90000);
      const pings = { a: 0, b: 0 };
      a.socket.io.engine.on('ping', () => { pings.a += 1; });
      b.socket.io.engine.on('ping', () => { pings.b += 1; });
      // timesyncd would step it back at its next sync: off, as an admin who sets the time would.
      const step = await sh("timedatectl set-ntp false; before=$(date +%s); date -s '+1 hour' >/dev/null; echo $before $(date +%s)");
      const [was, is] = step.trim().split(' ').map(Number);
      assert.ok(is - was >= 3600, `the guest's clock moved ${is - was} s`);
      // The server's timers run on the monotonic clock: its pings come on time (Engine.IO's
      // interval, 25 s), not all at once nor never, and nobody is dropped.
      await waitFor('two pings to each member after the step', () => pings.a >= 2 && pings.b >= 2, { timeout: 180000, every: 500 });
      assert.equal(a.disconnects + b.disconnects, 0, 'no member dropped');
      await relay(a, [b], 90000);
      await relay(b, [a], 90000);
      // A member whose connection broke (no goodbye: its transport closed) comes back with its
      // token, under its id.
      const { clientId, token } = a.lastAck;
      a.socket.io.reconnection(false);
      a.socket.io.engine.close();
      back = io(url, { query: { route: routeKey('vm-clock') }, transports: ['websocket'], reconnection: false });
      const ack = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no ack to the token rejoin')), 90000);
        back.on('connect', () => back.emit('join', { sessionId: 'vm-clock', clientName: 'Clock A', fingerprint: fingerprint('vm-clock'), token }, (r) => {
          clearTimeout(timer);
          resolve(r);
        }));
      });
      assert.equal(ack?.success, true, JSON.stringify(ack));
      assert.equal(ack.clientId, clientId, 'the token rejoin keeps the id');
    } finally {
      a.close();
      b.close();
      back?.close();
      // Back as it was (purge's check compares /etc with before the install: set-ntp false
      // had disabled timesyncd there).
      await sh("date -s '-1 hour' >/dev/null; timedatectl set-ntp true");
    }
  });

  test('10,000 failed joins from one address while members elsewhere send a file and let a new device in', { timeout: 900000 }, async () => {
    const session = 'vm-flood';
    const url = `http://127.0.0.1:${ports.app}`;
    const restartsBefore = (await unitProperties(sh, ['NRestarts'])).NRestarts;
    // The members are in the guest (the server sees them from 127.0.0.1); every connection
    // from the host comes from qemu's gateway, 10.0.2.2, the flood's one address.
    const dir = '/tmp/flood';
    await sh(`mkdir -p ${dir}/in && head -c 1048576 /dev/urandom >${dir}/note.bin && ${guestCli({ dir, session, name: 'Desk' }, `receive --create --dir ${dir}/in`)}`);
    await guestCliSays(dir, 'Desk', /receiving in session/, 'the receiver in the guest');

    const flooder = io(url, { query: { route: routeKey(session) }, transports: ['websocket'] });
    const codes = new Map();
    let answered = 0;
    let saved = false;
    const wrongProof = Buffer.alloc(32, 7).toString('base64');
    const attempt = () => new Promise((resolve) => {
      // Pipelined: the proof is wrong whatever the nonce, so nothing waits for the challenge.
      flooder.emit('challenge', { sessionId: session });
      flooder.timeout(60000).emit('join', { sessionId: session, v: 3, proof: wrongProof }, (err, ack) => {
        const code = err ? 'no answer' : (ack?.code ?? (ack?.success ? 'joined' : 'no code'));
        codes.set(code, (codes.get(code) ?? 0) + 1);
        answered += 1;
        resolve();
      });
    });
    const flood = (async () => {
      await new Promise((resolve) => flooder.on('connect', resolve));
      // Until 10,000 are answered and the members' file has arrived, whichever is later.
      while ((answered < 10000 || !saved) && !codes.has('no answer')) await Promise.all(Array.from({ length: 100 }, attempt));
    })();
    const started = Date.now();
    try {
      await waitFor('the flood under way', () => answered >= 1000, { timeout: 300000, every: 200 });
      // A device that types the passphrase is let in by the member, and sends a file.
      await sh(guestCli({ dir, session, name: 'Phone' }, `send ${dir}/note.bin`));
      await guestCliSays(dir, 'Desk', /saved .*note\.bin from Phone/, 'the file saved in the guest', 400000);
      saved = true;
      await flood;
    } finally {
      saved = true;
      flooder.close();
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`vm flood: ${answered} failed joins in ${seconds.toFixed(0)} s, ${JSON.stringify(Object.fromEntries(codes))}; the members' file saved meanwhile`);
    assert.deepEqual([...codes.keys()].filter((c) => c !== 'access_denied' && c !== 'rate_limited'), [], 'every flood join refused as a failed or limited one');
    // JOIN_LIMIT_PER_ADDRESS (10) failures a window (one minute), the rest refused unweighed.
    assert.ok((codes.get('access_denied') ?? 0) <= 10 * (Math.ceil(seconds / 60) + 1), JSON.stringify(Object.fromEntries(codes)));
    assert.equal(await sh(`cmp ${dir}/note.bin ${dir}/in/note.bin && echo same`), 'same\n');
    assert.equal((await unitProperties(sh, ['NRestarts'])).NRestarts, restartsBefore, 'the server was not restarted');
    assert.equal((await request(`${url}/health`, { timeout: 20000 })).status, 200);
    await sh('pkill -f "sharethings-cli receive" || true');
  });

  test('HAProxy restarted mid-transfer: two CLIs in the guest, through it, get back in and finish the file', { timeout: 900000 }, async () => {
    const dir = '/tmp/haproxy-restart';
    const session = 'vm-haproxy-restart';
    // The name the certificate is for, as the LAN's DNS or mDNS would give it.
    const hosts = `10.0.2.15 ${NAME} # vm.test.mjs`;
    await sh(`grep -qxF '${hosts}' /etc/hosts || echo '${hosts}' >>/etc/hosts`);
    const through = { dir, session, server: `https://${NAME}`, ca: '/etc/haproxy/certs/sharethings-ca.crt' };
    try {
      await sh(`mkdir -p ${dir}/in && head -c ${FAULT_FILE} /dev/urandom >${dir}/big.bin && ${guestCli({ ...through, name: 'Recv' }, `receive --create --dir ${dir}/in`)}`);
      await guestCliSays(dir, 'Recv', /receiving in session/, 'the receiver through HAProxy');
      const before = (await unitProperties(sh, ['MainPID'], 'haproxy')).MainPID;
      await sh(guestCli({ ...through, name: 'Send' }, `send ${dir}/big.bin`));
      await waitFor(`${FAULT_AT} bytes on the receiver's disk`, async () => Number(await sh(`du -sb ${dir}/in | cut -f1`)) >= FAULT_AT, { timeout: 400000, every: 500 });
      await sh('systemctl restart haproxy');
      const restartedAt = Date.now();
      assert.doesNotMatch(await sh(`cat ${dir}/Recv.log`), /saved/, 'restarted before the file was saved');
      await guestCliSays(dir, 'Recv', /saved .*big\.bin from Send/, 'the file saved after the restart', 600000);
      console.log(`vm haproxy restart: the file saved ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`);
      assert.equal(await sh(`cmp ${dir}/big.bin ${dir}/in/big.bin && echo same`), 'same\n');
      assert.notEqual((await unitProperties(sh, ['MainPID'], 'haproxy')).MainPID, before, 'a new HAProxy process');
      for (const name of ['Recv', 'Send']) {
        const log = await sh(`cat ${dir}/${name}.log`);
        assert.match(log, /back in the session/, `${name} got back in:\n${log}`);
        assert.doesNotMatch(log, /transfer failed|did not come back/, log);
      }
    } finally {
      await sh(`pkill -f "sharethings-cli" || true; sed -i '/# vm.test.mjs$/d' /etc/hosts`);
    }
  });

  test('an upgrade to a newer version keeps /etc/sharethings/ (the edited env file, the CA) and restarts the service', { timeout: 600000 }, async () => {
    const before = await unitProperties(sh, ['MainPID']);
    // Every file sharethings-setup-tls and the admin made, the CA's key included.
    const settings = 'find /etc/sharethings /etc/haproxy/certs /etc/haproxy/sharethings.cfg -type f -exec sha256sum {} + | sort -k2';
    const kept = await sh(settings);
    assert.match(kept, /\/etc\/sharethings\/ca\/sharethings-ca\.key$/m);
    assert.match(kept, /\/etc\/sharethings\/sharethings\.env$/m);
    await sh(`curl -sf -o /root/${NEWER_NAME} http://${GUEST_HOST}:${agent.server.address().port}/files/${NEWER_NAME}`);
    const out = await sh(`DEBIAN_FRONTEND=noninteractive apt-get install -y /root/${NEWER_NAME}`, 600000);
    assert.match(out, new RegExp(`Unpacking sharethings \\(${NEWER_VERSION.replace('+', '\\+')}\\) over \\(${VERSION}\\)`));
    assert.equal(await sh(settings), kept, 'the edited env file, the CA and HAProxy\'s configuration are kept');
    const state = await sh('systemctl is-enabled sharethings.service; systemctl is-active sharethings.service');
    assert.equal(state, 'enabled\nactive\n');
    assert.notEqual((await unitProperties(sh, ['MainPID'])).MainPID, before.MainPID, 'restarted on upgrade');
    await waitFor('the upgraded server on the forwarded port', async () => (await request(`http://127.0.0.1:${ports.app}/health`, { timeout: 20000 })).status === 200, { timeout: 120000, every: 500 });
    await relayInGuest(`http://127.0.0.1:${ports.app}`, 'vm-upgraded');
  });

  test('purge removes everything the package and sharethings-setup-tls made; HAProxy is back on its own config', { timeout: 600000 }, async () => {
    // The admin's drop-in is the admin's to remove, as on any system.
    await sh('rm -r /etc/systemd/system/sharethings.service.d');
    const out = await sh('DEBIAN_FRONTEND=noninteractive apt-get purge -y sharethings', 600000);
    assert.match(out, /Purging configuration files for sharethings/);
    const diff = await agent.run(`${SNAPSHOT} >/root/after-purge.txt; diff /root/before-install.txt /root/after-purge.txt`);
    assert.equal(diff.rc, 0, `left behind or removed by purge:\n${diff.out}`);
    const state = await sh("systemctl is-active sharethings.service || true; systemctl is-active haproxy; systemctl show haproxy -p Environment; dpkg-query -W -f='${db:Status-Status}' sharethings 2>&1 || true");
    assert.match(state, /^inactive\nactive\n/);
    assert.doesNotMatch(state, /sharethings\.cfg/);
    assert.doesNotMatch(state, /installed/);
  });
});
