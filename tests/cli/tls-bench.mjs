// The production path measured (issue 26, point 7): the real haproxy/haproxy.cfg with TLS 1.3
// in front of the release server, as sharethings-setup-tls configures it, and one
// `sharethings-cli send` of SIZE_MIB (default 256) random bytes to one `receive --once`, both
// through HAProxy, so HAProxy decrypts every byte once (the upload) and encrypts it once (the
// download). For each TLS 1.3 cipher suite (the config's list narrowed to that one), with this
// CPU's AES instructions and without them (OPENSSL_ia32cap hides AES-NI and PCLMULQDQ from
// HAProxy's OpenSSL, as a Raspberry Pi 4's Cortex-A72 has neither), it prints HAProxy's and
// the server's CPU-seconds per GB relayed, RUNS times (default 2). Not part of run.sh; needs
// `cargo build --release -p sharethings -p sharethings-cli` and HAProxy (tests/cli/install.sh).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { deriveHaproxyConfig, freePort, makeCert, start, startServer, tempDir, waitHealthy } from '../deploy/lib.mjs';
import { cli } from './lib.mjs';

const SIZE = Number(process.env.SIZE_MIB ?? 256) * 1024 * 1024;
const RUNS = Number(process.env.RUNS ?? 2);
const SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'];
const CPUS = [
  { name: 'AES-NI', env: {} },
  // OpenSSL's capability vector: bit 57 is AES-NI, bit 33 PCLMULQDQ (both in CPUID's ECX).
  { name: 'no AES-NI', env: { OPENSSL_ia32cap: '~0x200000200000000' } },
];
const HAPROXY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => fs.existsSync(p)) ?? 'haproxy';
const TICKS = 100; // USER_HZ on Linux

/** User plus system CPU-seconds of a process so far. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

const dir = tempDir('sharethings-tls-bench-');
const payload = path.join(dir, 'payload.bin');
fs.writeFileSync(payload, randomBytes(SIZE));
const hash = createHash('sha256').update(fs.readFileSync(payload)).digest('hex');
const cert = makeCert(dir);
const server = await startServer({ env: { LOG_LEVEL: 'warn' } });
console.log(`${HAPROXY}, ${SIZE / 1024 / 1024} MiB per run, ${RUNS} runs; CPU-seconds per GB relayed`);
console.log('cpu        suite                          haproxy  server   MB/s');
try {
  for (const cpu of CPUS) {
    for (const suite of SUITES) {
      const httpPort = await freePort();
      const httpsPort = await freePort();
      let cfg = deriveHaproxyConfig({ httpPort, httpsPort, pem: cert.pem, caFile: cert.caFile, adminSocket: path.join(dir, `admin-${httpsPort}.sock`), serverPorts: [server.port] });
      const line = /^(\s*ssl-default-bind-ciphersuites) \S+$/m;
      assert.match(cfg, line, 'haproxy.cfg has no ssl-default-bind-ciphersuites line');
      cfg = cfg.replace(line, `$1 ${suite}`);
      const file = path.join(dir, `haproxy-${httpsPort}.cfg`);
      fs.writeFileSync(file, cfg);
      const haproxy = start('haproxy', HAPROXY, ['-db', '-f', file], { env: cpu.env });
      try {
        const url = `https://127.0.0.1:${httpsPort}`;
        await waitHealthy(`${url}/health`, haproxy, { ca: cert.ca });
        for (let run = 1; run <= RUNS; run++) {
          const session = `tls-${httpsPort}-${run}`;
          const out = path.join(dir, `in-${httpsPort}-${run}`);
          fs.mkdirSync(out);
          const opts = { server: url, session, ca: cert.caFile };
          const receiver = cli(['receive', '--once', '--dir', out], { ...opts, name: 'receiver' });
          while (!receiver.err().includes('receiving in session')) {
            assert.ok(receiver.child.exitCode === null, `receiver exited: ${receiver.err()}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          const before = [cpuSeconds(haproxy.child.pid), cpuSeconds(server.proc.child.pid)];
          const t0 = Date.now();
          const sender = cli(['send', payload], { ...opts, name: 'sender' });
          assert.equal(await sender.exited, 0, sender.err());
          assert.equal(await receiver.exited, 0, receiver.err());
          const seconds = (Date.now() - t0) / 1000;
          const after = [cpuSeconds(haproxy.child.pid), cpuSeconds(server.proc.child.pid)];
          const got = createHash('sha256').update(fs.readFileSync(path.join(out, 'payload.bin'))).digest('hex');
          assert.equal(got, hash, 'the received file differs');
          fs.rmSync(out, { recursive: true, force: true });
          const gb = SIZE / 1e9;
          const [h, s] = [(after[0] - before[0]) / gb, (after[1] - before[1]) / gb];
          console.log(`${cpu.name.padEnd(10)} ${suite.padEnd(30)} ${h.toFixed(2).padStart(7)} ${s.toFixed(2).padStart(7)} ${(SIZE / 1e6 / seconds).toFixed(0).padStart(6)}`);
        }
      } finally {
        await haproxy.stop();
      }
    }
  }
} finally {
  await server.proc.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
