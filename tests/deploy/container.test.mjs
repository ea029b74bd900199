// The container image of packaging/container/build.sh: one archive holding a manifest list of
// four images, each FROM scratch with nothing but the cross build's static server of its
// platform, run as nobody, with a health check. podman loads it and runs it on a read-only
// root, and two members relay through it. And packaging/container/compose.yaml: its
// ShareThings service run by podman as the file says, behind HAProxy 2.6 with the
// repository's haproxy.cfg and a local CA, relaying over wss://. (The HAProxy container image
// the file names is not pulled: this machine has no registry; Debian's HAProxy 2.6 runs the
// same configuration.)
//
// podman runs with a private store and settings (a temporary CONTAINERS_CONF and
// CONTAINERS_STORAGE_CONF), so nothing touches the machine's own images or containers, and
// with networks that are each container's own (slirp4netns, or the host's for compose.yaml):
// no bridge or firewall rule shared with anyone else on the machine.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import {
  CROSS_DIST, REPO, VERSION, deriveHaproxyConfig, freePort, makeCert, request, startHaproxy, tempDir, twoMembersRelay, waitFor,
} from './lib.mjs';

const ARCHIVE = process.env.OCI_ARCHIVE || path.join(REPO, `target/cross/oci/sharethings-${VERSION}-oci.tar`);
const IMAGE = `localhost/sharethings:${VERSION}`;
const PLATFORMS = [
  { arch: 'amd64', variant: undefined, target: 'x86_64-unknown-linux-musl' },
  { arch: 'arm64', variant: 'v8', target: 'aarch64-unknown-linux-musl' },
  // The ARMv6 binary under both: it runs on every 32-bit Pi (cross/build.sh).
  { arch: 'arm', variant: 'v7', target: 'arm-unknown-linux-musleabihf' },
  { arch: 'arm', variant: 'v6', target: 'arm-unknown-linux-musleabihf' },
];
const NOBODY = '65534:65534';

// podman's store: not a tempDir, whose removal at exit would race podman's own processes.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharethings-oci-'));
const started = []; // container names, removed after the tests

/**
 * podman with a store of its own in `dir`. runc and the cgroupfs manager because this
 * machine's cgroups are mounted in hybrid mode (v1 controllers and a v2 hierarchy), which
 * crun refuses; file and process limits within the machine's hard limits, which are below
 * the ones podman sets for root by default. Neither changes what the image is or does.
 */
function podman(args, { timeout = 120000 } = {}) {
  const res = spawnSync('podman', args, {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, CONTAINERS_CONF: path.join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf') },
  });
  if (res.error) throw res.error;
  return { code: res.status, out: res.stdout, err: res.stderr };
}

function sh(cmd, args) {
  const res = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  assert.equal(res.status, 0, `${cmd} ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
}

/** The archive's OCI layout: the manifest list and, per platform, manifest, config and layers. */
function readLayout() {
  const root = path.join(dir, 'layout');
  fs.mkdirSync(root);
  sh('tar', ['-xf', ARCHIVE, '-C', root]);
  const blob = (digest) => path.join(root, 'blobs', ...digest.split(':'));
  const json = (digest) => JSON.parse(fs.readFileSync(blob(digest), 'utf8'));
  const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 1, 'one entry: the manifest list');
  const list = json(index.manifests[0].digest);
  const images = list.manifests.map((entry) => {
    const manifest = json(entry.digest);
    return { entry, manifest, config: json(manifest.config.digest), layers: manifest.layers.map((l) => blob(l.digest)) };
  });
  return { index, list, images };
}

let layout;
before(() => {
  assert.ok(fs.existsSync(ARCHIVE), `${ARCHIVE} missing: packaging/container/build.sh failed or was not run`);
  fs.writeFileSync(path.join(dir, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=8192:8192", "nproc=1024:1024"]\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n');
  fs.writeFileSync(path.join(dir, 'storage.conf'),
    `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/store"\nrunroot = "${dir}/run"\n`);
  layout = readLayout();
});

/** The processes (conmon, slirp4netns, podman's exit commands) whose command line names `dir`. */
function processesOfStore() {
  return fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false; // ended while we looked
    }
  });
}

// A removed container's conmon and the exit command it starts still write to the store for a
// moment; the store goes only once they have ended, or its removal meets their new files.
after(async () => {
  for (const name of started) {
    const rm = podman(['rm', '--force', '--time', '0', name]);
    assert.equal(rm.code, 0, `podman rm ${name}: ${rm.err}`);
  }
  await waitFor('podman\'s processes of the test store to end', () => processesOfStore().length === 0, { timeout: 60000, every: 100 });
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the container archive', () => {
  test('one manifest list, tagged with the version, of linux/amd64, arm64/v8, arm/v7 and arm/v6', () => {
    assert.equal(layout.index.manifests[0].annotations['org.opencontainers.image.ref.name'], `sharethings:${VERSION}`);
    assert.equal(layout.list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.deepEqual(
      layout.images.map((i) => [i.entry.platform.os, i.entry.platform.architecture, i.entry.platform.variant]),
      PLATFORMS.map((p) => ['linux', p.arch, p.variant]),
    );
    const size = fs.statSync(ARCHIVE).size;
    console.log(`container archive: ${size} bytes (${(size / 1048576).toFixed(2)} MiB) for four platforms`);
  });

  for (const p of PLATFORMS) {
    test(`linux/${p.arch}${p.variant ? `/${p.variant}` : ''}: FROM scratch, only ${p.target}'s static server, as nobody, with a health check`, () => {
      const image = layout.images.find((i) => i.entry.platform.architecture === p.arch && i.entry.platform.variant === p.variant);
      assert.equal(image.config.architecture, p.arch);
      assert.equal(image.config.os, 'linux');
      // One layer (FROM scratch) holding one file: the very binary cross.test.mjs proves.
      assert.equal(image.layers.length, 1);
      const listing = sh('tar', ['-tvzf', image.layers[0]]).toString().trim().split('\n');
      assert.equal(listing.length, 1, listing.join('\n'));
      assert.match(listing[0], /^-rwxr-xr-x 0\/0 .* sharethings$/);
      const inLayer = sh('tar', ['-xzOf', image.layers[0], 'sharethings']);
      assert.ok(inLayer.equals(fs.readFileSync(path.join(CROSS_DIST, `sharethings-${p.target}`))), `the layer's /sharethings is dist/sharethings-${p.target}`);
      const c = image.config.config;
      assert.equal(c.User, NOBODY);
      assert.deepEqual(c.Entrypoint, ['/sharethings']);
      assert.deepEqual(c.Healthcheck.Test, ['CMD', '/sharethings', '--health-check']);
      assert.deepEqual(Object.keys(c.ExposedPorts), ['3001/tcp']);
      assert.deepEqual(c.Env, ['HOST=0.0.0.0', 'PORT=3001']);
      assert.equal(c.StopSignal, 'SIGKILL');
    });
  }
});

describe('podman', () => {
  before(() => {
    const res = podman(['load', '--quiet', '--input', ARCHIVE]);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, new RegExp(`Loaded image: ${IMAGE.replaceAll('.', '\\.')}`));
  });

  test('runs it on a read-only root as nobody (not root): healthy, two members relay, stops at once', { timeout: 180000 }, async () => {
    const port = await freePort();
    const name = `sharethings-test-${port}`;
    // No automatic health timer (podman sets those up through systemd, which this machine
    // does not run); `podman healthcheck run` runs the image's check instead.
    const run = podman(['run', '--detach', '--name', name, '--read-only', '--health-interval', 'disable',
      '--network', 'slirp4netns', '--publish', `127.0.0.1:${port}:3001`, IMAGE]);
    assert.equal(run.code, 0, run.err);
    started.push(name);
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the container to answer /health', async () => (await request(`${base}/health`, { timeout: 2000 })).status === 200, { timeout: 60000, every: 200 });
    const health = podman(['healthcheck', 'run', name]);
    assert.equal(health.code, 0, `podman healthcheck run: ${health.out}${health.err}`);
    assert.equal(podman(['inspect', '--format', '{{.State.Health.Status}} {{.HostConfig.ReadonlyRootfs}}', name]).out.trim(), 'healthy true');
    const top = podman(['top', name, 'user', 'args']).out.trim().split('\n');
    assert.match(top[1], /^65534\s+\/sharethings\s*$/, top.join('\n'));

    await twoMembersRelay(base, `oci-${port}`, { names: ['oci-a', 'oci-b'] });

    const stopping = Date.now();
    assert.equal(podman(['stop', '--time', '10', name]).code, 0);
    assert.ok(Date.now() - stopping < 5000, `stopped in ${Date.now() - stopping} ms: SIGKILL at once, not the 10 s timeout`);
  });

  test('the health check fails when nothing answers', () => {
    // The image's own check, against a port nothing listens on in a fresh container.
    const res = podman(['run', '--rm', '--read-only', '--network', 'none', '--entrypoint', '/sharethings', IMAGE, '--health-check', '--port', '9']);
    assert.equal(res.code, 1, `${res.out}${res.err}`);
    assert.match(res.err, /health check: 127\.0\.0\.1:9: /);
  });

  test('compose.yaml: its ShareThings service, run as it says, behind HAProxy with TLS; two members relay over wss://', { timeout: 180000 }, async () => {
    const compose = YAML.parse(fs.readFileSync(path.join(REPO, 'packaging/container/compose.yaml'), 'utf8'));
    const service = compose.services.sharethings;
    assert.equal(service.image, IMAGE, 'compose.yaml names the image this version builds');
    assert.deepEqual(Object.keys(service).sort(), ['environment', 'image', 'network_mode', 'read_only', 'restart', 'tmpfs']);
    assert.equal(service.read_only, true);
    assert.equal(service.network_mode, 'host');
    assert.deepEqual(service.tmpfs, ['/tmp']);
    const proxy = compose.services.haproxy;
    assert.match(proxy.image, /^docker\.io\/library\/haproxy:2\.6$/);
    assert.equal(proxy.network_mode, 'host');
    assert.deepEqual(proxy.volumes, ['./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro', './certs:/etc/haproxy/certs:ro']);
    assert.deepEqual(proxy.depends_on, { sharethings: { condition: 'service_healthy' } });

    // compose's ${NAME:-default}, with the port made free here.
    const port = await freePort();
    const vars = { SHARETHINGS_PORT: String(port) };
    const interpolate = (v) => String(v).replace(/\$\{(\w+):-([^}]*)\}/g, (_, name, fallback) => vars[name] ?? fallback);
    const env = Object.entries(service.environment).flatMap(([k, v]) => ['--env', `${k}=${interpolate(v)}`]);
    assert.ok(env.includes(`PORT=${port}`) && env.includes('HOST=127.0.0.1') && env.includes('TRUSTED_PROXIES=127.0.0.1'), env.join(' '));
    const name = `sharethings-compose-${port}`;
    const run = podman(['run', '--detach', '--name', name, '--health-interval', 'disable', '--network', service.network_mode,
      ...(service.read_only ? ['--read-only'] : []), ...service.tmpfs.flatMap((t) => ['--tmpfs', t]), ...env, service.image]);
    assert.equal(run.code, 0, run.err);
    started.push(name);

    const tls = tempDir('sharethings-oci-tls-');
    const cert = makeCert(tls);
    const ports = { httpPort: await freePort(), httpsPort: await freePort() };
    const cfg = deriveHaproxyConfig({ ...ports, pem: cert.pem, caFile: cert.caFile, adminSocket: path.join(tls, 'admin.sock'), serverPorts: [port] });
    const haproxy = await startHaproxy(cfg, { dir: tls, ...ports });
    try {
      const url = `https://127.0.0.1:${ports.httpsPort}`;
      await waitFor('HAProxy to reach the container', async () => (await request(`${url}/health`, { ca: cert.ca, timeout: 2000 })).status === 200, { timeout: 60000, every: 200 });
      const health = podman(['healthcheck', 'run', name]);
      assert.equal(health.code, 0, `podman healthcheck run: ${health.out}${health.err}`);
      await twoMembersRelay(url, `compose-${port}`, { ca: cert.ca, transports: ['websocket'], names: ['compose-a', 'compose-b'] });
    } finally {
      await haproxy.stop();
    }
  });
});
