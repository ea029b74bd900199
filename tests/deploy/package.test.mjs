// The Debian packages of packaging/build-deb.sh: their control fields, their exact contents
// and modes, the conffile, the units and binaries they carry, lintian with no error or
// warning, and the packaged binaries running (armhf under qemu-arm with the Pi 1's CPU,
// amd64 natively). The local CA that sharethings-setup-tls makes (through
// haproxy/make-cert.sh) is checked here for its name constraints. The arm64 package on a
// booted Debian system is vm.test.mjs.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  CROSS_DIST, DEB_DIR, EF_ARM_ABI_FLOAT_HARD, EM_AARCH64, EM_ARM, EM_X86_64, REPO, VERSION, elfFacts, startServer, tempDir,
  twoMembersRelay,
} from './lib.mjs';

const ARCHS = [
  { arch: 'arm64', target: 'aarch64-unknown-linux-musl', machine: EM_AARCH64 },
  // ARMv6 with VFP: the one 32-bit binary that runs on every Raspberry Pi.
  { arch: 'armhf', target: 'arm-unknown-linux-musleabihf', machine: EM_ARM, qemu: ['qemu-arm', '-cpu', 'arm1176'] },
  { arch: 'amd64', target: 'x86_64-unknown-linux-musl', machine: EM_X86_64, native: true },
];

// Every file and directory of the package, with its mode; dpkg-deb -c lists them.
const CONTENTS = {
  './etc/': 'drwxr-xr-x',
  './etc/sharethings/': 'drwxr-xr-x',
  './etc/sharethings/sharethings.env': '-rw-r--r--',
  './lib/': 'drwxr-xr-x',
  './lib/systemd/': 'drwxr-xr-x',
  './lib/systemd/system/': 'drwxr-xr-x',
  './lib/systemd/system/sharethings.service': '-rw-r--r--',
  './lib/systemd/system/sharethings@.service': '-rw-r--r--',
  './usr/': 'drwxr-xr-x',
  './usr/bin/': 'drwxr-xr-x',
  './usr/bin/sharethings': '-rwxr-xr-x',
  './usr/bin/sharethings-cli': '-rwxr-xr-x',
  './usr/lib/': 'drwxr-xr-x',
  './usr/lib/systemd/': 'drwxr-xr-x',
  './usr/lib/systemd/user/': 'drwxr-xr-x',
  './usr/lib/systemd/user/sharethings-clip.service': '-rw-r--r--',
  './usr/sbin/': 'drwxr-xr-x',
  './usr/sbin/sharethings-setup-tls': '-rwxr-xr-x',
  './usr/share/': 'drwxr-xr-x',
  './usr/share/doc/': 'drwxr-xr-x',
  './usr/share/doc/sharethings/': 'drwxr-xr-x',
  './usr/share/doc/sharethings/README.md.gz': '-rw-r--r--',
  './usr/share/doc/sharethings/changelog.gz': '-rw-r--r--',
  './usr/share/doc/sharethings/copyright': '-rw-r--r--',
  './usr/share/doc/sharethings/deploy.md.gz': '-rw-r--r--',
  './usr/share/doc/sharethings/examples/': 'drwxr-xr-x',
  './usr/share/doc/sharethings/examples/haproxy.cfg': '-rw-r--r--',
  './usr/share/lintian/': 'drwxr-xr-x',
  './usr/share/lintian/overrides/': 'drwxr-xr-x',
  './usr/share/lintian/overrides/sharethings': '-rw-r--r--',
  './usr/share/sharethings/': 'drwxr-xr-x',
  './usr/share/sharethings/haproxy.cfg': '-rw-r--r--',
  './usr/share/sharethings/make-cert.sh': '-rwxr-xr-x',
  './usr/share/man/': 'drwxr-xr-x',
  './usr/share/man/man1/': 'drwxr-xr-x',
  './usr/share/man/man1/sharethings.1.gz': '-rw-r--r--',
  './usr/share/man/man1/sharethings-cli.1.gz': '-rw-r--r--',
  './usr/share/man/man8/': 'drwxr-xr-x',
  './usr/share/man/man8/sharethings-setup-tls.8.gz': '-rw-r--r--',
};

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (res.error) throw res.error;
  return { code: res.status, out: res.stdout, err: res.stderr };
}

const read = (...p) => fs.readFileSync(path.join(REPO, ...p), 'utf8');

for (const a of ARCHS) {
  const deb = path.join(DEB_DIR, `sharethings_${VERSION}_${a.arch}.deb`);
  describe(`sharethings_${VERSION}_${a.arch}.deb`, () => {
    let tree;
    const unpacked = () => {
      if (!tree) {
        tree = tempDir('sharethings-deb-');
        const x = run('dpkg-deb', ['-R', deb, tree]);
        assert.equal(x.code, 0, x.err);
      }
      return tree;
    };

    test('control fields: name, version, architecture, HAProxy recommended and not required', () => {
      assert.ok(fs.existsSync(deb), `${deb} missing: packaging/build-deb.sh failed or was not run`);
      const field = (f) => run('dpkg-deb', ['-f', deb, f]).out.trim();
      assert.equal(field('Package'), 'sharethings');
      assert.equal(field('Version'), VERSION);
      assert.equal(field('Architecture'), a.arch);
      assert.match(field('Recommends'), /(^|, )haproxy \(>= 2\.6\)(,|$)/);
      assert.match(field('Recommends'), /(^|, )openssl(,|$)/);
      assert.doesNotMatch(`${field('Depends')} ${field('Pre-Depends')}`, /haproxy/, 'static binaries need nothing; HAProxy is optional');
      assert.match(field('Description'), /\S/);
      const size = Number(field('Installed-Size'));
      assert.ok(size > 1000 && size < 20000, `Installed-Size ${size} KiB`);
    });

    test('contents: exactly the expected files, owned by root, with their modes', () => {
      const listed = run('dpkg-deb', ['-c', deb]).out.trim().split('\n').map((line) => {
        const f = line.split(/\s+/);
        return { mode: f[0], owner: f[1], file: f[5] };
      });
      const got = Object.fromEntries(listed.map((e) => [e.file, e.mode]));
      assert.deepEqual(got, { './': 'drwxr-xr-x', ...CONTENTS });
      for (const e of listed) assert.equal(e.owner, 'root/root', e.file);
    });

    test('the env file is a conffile, and the maintainer scripts are executable', () => {
      const dir = unpacked();
      assert.equal(fs.readFileSync(path.join(dir, 'DEBIAN/conffiles'), 'utf8'), '/etc/sharethings/sharethings.env\n');
      assert.equal(fs.readFileSync(path.join(dir, 'etc/sharethings/sharethings.env'), 'utf8'), read('systemd/sharethings.env.example'));
      for (const s of ['postinst', 'prerm', 'postrm']) {
        assert.equal(fs.statSync(path.join(dir, 'DEBIAN', s)).mode & 0o777, 0o755, s);
      }
      const md5 = run('md5sum', ['-c', '--quiet', 'DEBIAN/md5sums'], { cwd: dir });
      assert.equal(md5.code, 0, md5.out + md5.err);
    });

    test('the units are the repository\'s, starting /usr/bin/sharethings; the CLI, the TLS tool and the docs are there', () => {
      const dir = unpacked();
      for (const [unit, where] of [['sharethings.service', 'lib/systemd/system'], ['sharethings@.service', 'lib/systemd/system'], ['sharethings-clip.service', 'usr/lib/systemd/user']]) {
        const shipped = fs.readFileSync(path.join(dir, where, unit), 'utf8');
        assert.equal(shipped, read('systemd', unit).replace(/^ExecStart=\/usr\/local\/bin\/sharethings/m, 'ExecStart=/usr/bin/sharethings'), unit);
      }
      assert.equal(fs.readFileSync(path.join(dir, 'usr/sbin/sharethings-setup-tls'), 'utf8'), read('packaging/sharethings-setup-tls'));
      assert.equal(fs.readFileSync(path.join(dir, 'usr/share/sharethings/haproxy.cfg'), 'utf8'), read('haproxy/haproxy.cfg'));
      const changelog = run('zcat', [path.join(dir, 'usr/share/doc/sharethings/changelog.gz')]).out;
      assert.match(changelog, new RegExp(`^sharethings \\(${VERSION.replaceAll('.', '\\.')}\\) `));
    });

    test(`binaries: the static ${a.target} server and command-line client of cross/build.sh`, () => {
      const dir = unpacked();
      for (const bin of ['sharethings', 'sharethings-cli']) {
        const file = path.join(dir, 'usr/bin', bin);
        assert.ok(fs.readFileSync(file).equals(fs.readFileSync(path.join(CROSS_DIST, `${bin}-${a.target}`))), `${bin} is the dist binary`);
        const elf = elfFacts(file);
        assert.equal(elf.machine, a.machine, bin);
        assert.equal(elf.interp, false, `${bin} is static`);
        if (a.machine === EM_ARM) assert.ok(elf.flags & EF_ARM_ABI_FLOAT_HARD, `${bin} is hard-float`);
      }
    });

    test('lintian: no error, warning or info tag; every override is explained', { timeout: 300000 }, () => {
      const res = run('lintian', ['--fail-on', 'error,warning,info', '--display-info', '--tag-display-limit', '0', deb]);
      const tags = res.out.split('\n').filter((l) => /^[EWI]: /.test(l));
      console.log(`lintian ${a.arch}: ${tags.length} tags${tags.length ? `\n${tags.join('\n')}` : ''}`);
      assert.deepEqual(tags, []);
      assert.equal(res.code, 0, res.out + res.err);
      // lintian shows a comment as the reason of the overrides right below it, up to a blank line.
      let explained = false;
      for (const line of fs.readFileSync(path.join(unpacked(), 'usr/share/lintian/overrides/sharethings'), 'utf8').split('\n')) {
        if (line.startsWith('#')) explained = true;
        else if (line.trim() === '') explained = false;
        else assert.ok(explained, `override "${line}" has no comment above it`);
      }
    });

    if (a.qemu || a.native) {
      const how = a.qemu ? `under ${a.qemu.join(' ')}` : 'natively';
      test(`the packaged server runs ${how}: /health answers and two members relay`, { timeout: 180000 }, async () => {
        const bin = path.join(unpacked(), 'usr/bin/sharethings');
        const server = await startServer({ bin, qemu: a.qemu && { cmd: a.qemu[0], args: a.qemu.slice(1) }, name: `deb-${a.arch}` });
        try {
          await twoMembersRelay(server.base, `deb-${a.arch}`, { timeout: 60000, names: ['deb-a', 'deb-b'] });
        } catch (err) {
          err.message += `\n${server.proc.output()}`;
          throw err;
        } finally {
          await server.proc.stop();
        }
      });
    }
  });
}

describe('the local CA of sharethings-setup-tls (haproxy/make-cert.sh)', () => {
  const makeCert = (dir, ...args) => run('bash', [path.join(REPO, 'haproxy/make-cert.sh'), '--out', `${dir}/out`, '--ca-dir', `${dir}/ca`, ...args]);
  const verify = (dir, crt) => run('openssl', ['verify', '-CAfile', `${dir}/ca/sharethings-ca.crt`, '-purpose', 'sslserver', crt]);
  /** A certificate for `san` signed with the CA's key directly, bypassing make-cert's checks. */
  function forge(dir, san) {
    const key = `${dir}/forged.key`;
    const crt = `${dir}/forged-${san.replace(/\W/g, '_')}.crt`;
    const ext = `${dir}/forged.ext`;
    fs.writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
    assert.equal(run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]).code, 0);
    const csr = run('openssl', ['req', '-new', '-key', key, '-subj', '/CN=forged', '-out', `${dir}/forged.csr`]);
    assert.equal(csr.code, 0, csr.err);
    const x = run('openssl', ['x509', '-req', '-in', `${dir}/forged.csr`, '-CA', `${dir}/ca/sharethings-ca.crt`, '-CAkey', `${dir}/ca/sharethings-ca.key`,
      '-CAcreateserial', '-CAserial', `${dir}/forged.srl`, '-days', '30', '-extfile', ext, '-out', crt]);
    assert.equal(x.code, 0, x.err);
    return crt;
  }

  test('is name-constrained to the names and addresses given, signs only servers, key owner-only, 5 years', () => {
    const dir = tempDir('sharethings-ca-');
    const res = makeCert(dir, 'sharethings.local', '192.168.1.20');
    assert.equal(res.code, 0, res.err);
    const text = run('openssl', ['x509', '-in', `${dir}/ca/sharethings-ca.crt`, '-noout', '-text']).out;
    assert.match(text, /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:sharethings\.local\s+IP:192\.168\.1\.20\/255\.255\.255\.255/);
    assert.match(text, /CA:TRUE, pathlen:0/);
    assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
    const days = (Date.parse(text.match(/Not After : (.*)/)[1]) - Date.parse(text.match(/Not Before: (.*)/)[1])) / 86400000;
    assert.equal(Math.round(days), 1825);
    assert.equal(fs.statSync(`${dir}/ca/sharethings-ca.key`).mode & 0o777, 0o600);
    assert.equal(fs.statSync(`${dir}/ca`).mode & 0o777, 0o700);
    assert.equal(verify(dir, `${dir}/out/sharethings.crt`).code, 0);
    assert.equal(fs.readFileSync(`${dir}/out/sharethings-ca.crt`, 'utf8'), fs.readFileSync(`${dir}/ca/sharethings-ca.crt`, 'utf8'));

    // Even with its key, the CA cannot vouch for another site or address.
    for (const san of ['DNS:www.example.com', 'IP:192.168.1.21', 'DNS:sharethings.local.example.com']) {
      const v = verify(dir, forge(dir, san));
      assert.notEqual(v.code, 0, `${san} must not verify`);
      assert.match(v.out + v.err, /permitted subtree violation/, san);
    }
    assert.equal(verify(dir, forge(dir, 'DNS:pi.sharethings.local')).code, 0, 'a subdomain of a given name is covered');
    // make-cert refuses names outside the CA, and --new-ca replaces the CA for them.
    assert.notEqual(makeCert(dir, 'other.example').code, 0);
    assert.equal(makeCert(dir, '--new-ca', 'other.example').code, 0);
    assert.equal(verify(dir, `${dir}/out/sharethings.crt`).code, 0);
  });

  test('a CA made for names only covers no IP address', () => {
    const dir = tempDir('sharethings-ca-');
    assert.equal(makeCert(dir, 'sharethings.local').code, 0);
    for (const san of ['IP:192.168.1.20', 'IP:::1']) {
      const v = verify(dir, forge(dir, san));
      assert.notEqual(v.code, 0, `${san} must not verify`);
    }
  });
});
