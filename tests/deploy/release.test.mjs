// The release build (packaging/release.sh): SHA256SUMS covers every artifact and checks, and
// the binaries and the web bundle are reproducible: built a second time from this tree in
// another folder (tests/deploy/reproduce.sh: the server and the client for aarch64, the web
// client with its own `npm ci`), they are the same bytes as the first build's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CROSS_DIST, REPO, TEST_CACHE, VERSION } from './lib.mjs';

const OUT = process.env.RELEASE_DIR || path.join(REPO, 'target/release-artifacts');
const SECOND = process.env.REPRODUCE_DIR || path.join(TEST_CACHE, 'reproduce');
const TARGETS = ['aarch64-unknown-linux-musl', 'arm-unknown-linux-musleabihf', 'x86_64-unknown-linux-musl'];
const ARTIFACTS = [
  ...TARGETS.flatMap((t) => [`sharethings-${t}`, `sharethings-cli-${t}`]),
  ...['arm64', 'armhf', 'amd64'].map((a) => `sharethings_${VERSION}_${a}.deb`),
  `sharethings-${VERSION}-raspi-arm64.img.xz`,
  `sharethings-${VERSION}-oci.tar`,
];

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** { relative path: sha256 } of every file under `dir`. */
function tree(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = sha256(p);
    }
  };
  walk(dir);
  return out;
}

function sums() {
  const file = path.join(OUT, 'SHA256SUMS');
  assert.ok(fs.existsSync(file), `${file} missing: packaging/release.sh failed or was not run`);
  return Object.fromEntries(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
    const m = l.match(/^([0-9a-f]{64}) {2}(\S+)$/);
    assert.ok(m, `a sha256sum line: ${l}`);
    return [m[2], m[1]];
  }));
}

describe('the release build', () => {
  test('SHA256SUMS lists exactly every binary, package, image and container archive', () => {
    assert.deepEqual(Object.keys(sums()).sort(), [...ARTIFACTS].sort());
    assert.deepEqual(fs.readdirSync(OUT).sort(), [...ARTIFACTS, 'SHA256SUMS'].sort(), 'nothing else in the folder');
  });

  test('sha256sum -c checks every line, and the files are the ones the builds made', () => {
    const res = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: OUT, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.equal(res.stdout.trim().split('\n').length, ARTIFACTS.length);
    const listed = sums();
    for (const t of TARGETS) assert.equal(listed[`sharethings-${t}`], sha256(path.join(CROSS_DIST, `sharethings-${t}`)), t);
  });
});

describe('reproducible: built again from this tree in another folder', () => {
  test('the aarch64 server and command-line client are the same bytes', () => {
    const src = path.join(SECOND, 'src');
    assert.notEqual(fs.realpathSync(src), fs.realpathSync(REPO), 'a different folder');
    for (const bin of ['sharethings', 'sharethings-cli']) {
      const again = path.join(SECOND, `cross/dist/${bin}-aarch64-unknown-linux-musl`);
      assert.ok(fs.existsSync(again), `${again} missing: tests/deploy/reproduce.sh failed or was not run`);
      assert.equal(sha256(again), sums()[`${bin}-aarch64-unknown-linux-musl`], bin);
    }
  });

  test('the web bundle (its own npm ci there) is the same bytes as assets/', () => {
    const again = tree(path.join(SECOND, 'web-build'));
    const shipped = tree(path.join(REPO, 'assets'));
    assert.ok(Object.keys(shipped).length > 10, 'assets/ holds the bundle');
    const differ = Object.keys({ ...again, ...shipped }).filter((f) => again[f] !== shipped[f]).sort();
    assert.deepEqual(differ, [], 'files that differ or exist on one side only');
  });
});
