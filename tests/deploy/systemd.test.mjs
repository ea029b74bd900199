// The systemd units: `systemd-analyze verify` prints nothing (typos there are only
// warnings, so silence is the check), `systemd-analyze security --offline=yes` scores
// <= 2.0, both units carry the same hardening, and every setting they or the example env
// file name is one `sharethings --help` knows.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { NATIVE_BIN, REPO, tempDir } from './lib.mjs';

const UNITS = ['sharethings.service', 'sharethings@.service'];
const MAX_EXPOSURE = 2.0;
const read = (name) => fs.readFileSync(path.join(REPO, 'systemd', name), 'utf8');

function run(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.error) throw res.error;
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

/**
 * A copy of the unit whose ExecStart names an executable that exists here (verify checks
 * that), everything else unchanged.
 */
function stageUnit(name) {
  const dir = tempDir('sharethings-unit-');
  const text = read(name);
  assert.match(text, /^ExecStart=\/usr\/local\/bin\/sharethings\b/m);
  assert.ok(fs.existsSync(NATIVE_BIN), `${NATIVE_BIN} missing (run.sh builds it)`);
  const file = path.join(dir, name);
  fs.writeFileSync(file, text.replace(/^ExecStart=\/usr\/local\/bin\/sharethings\b/m, `ExecStart=${NATIVE_BIN}`));
  return file;
}

function hardening(text) {
  const start = text.indexOf('# --- hardening');
  const end = text.indexOf('[Install]');
  assert.ok(start > 0 && end > start, 'hardening block marked in the unit');
  return text.slice(text.indexOf('\n', start), end);
}

for (const name of UNITS) {
  describe(name, () => {
    test('systemd-analyze verify prints nothing', () => {
      const file = stageUnit(name);
      const targets = name.includes('@') ? [file, file.replace('@.service', '@3001.service')] : [file];
      for (const target of targets) {
        // --man=no: the manual page named by Documentation= comes with the Debian package.
        const { code, out } = run('systemd-analyze', ['verify', '--man=no', target]);
        assert.equal(out, '', `verify ${path.basename(target)} printed:\n${out}`);
        assert.equal(code, 0);
      }
    });

    test(`systemd-analyze security --offline=yes scores <= ${MAX_EXPOSURE}`, () => {
      const file = stageUnit(name);
      const { out } = run('systemd-analyze', ['security', '--offline=yes', '--no-pager', file]);
      const m = out.match(/Overall exposure level for \S+: ([0-9.]+)/);
      assert.ok(m, `no score in:\n${out}`);
      const score = Number(m[1]);
      console.log(`${name}: exposure ${score}`);
      assert.ok(score <= MAX_EXPOSURE, `exposure ${score} > ${MAX_EXPOSURE}:\n${out}`);
    });
  });
}

describe('settings', () => {
  const help = run(NATIVE_BIN, ['--help']).out;
  const known = new Set([...help.matchAll(/^\s+--\S+\s+([A-Z_]+)\s/gm)].map((m) => m[1]));

  test('both units carry the same hardening', () => {
    assert.equal(hardening(read('sharethings@.service')), hardening(read('sharethings.service')));
  });

  test('every variable in the units and the example env file is a real setting', () => {
    assert.ok(known.has('PORT') && known.has('TRUSTED_PROXIES'), `--help lists settings:\n${help}`);
    const names = [];
    for (const unit of UNITS) {
      for (const m of read(unit).matchAll(/^Environment=(.*)$/gm)) {
        names.push(...m[1].split(/\s+/).map((kv) => kv.split('=')[0]));
      }
      for (const m of read(unit).matchAll(/^ExecStart=\S+ ?(.*)$/gm)) {
        for (const flag of m[1].matchAll(/--([a-z-]+)/g)) assert.match(help, new RegExp(`--${flag[1]}\\s`));
      }
    }
    for (const m of read('sharethings.env.example').matchAll(/^#?([A-Z][A-Z_]+)=/gm)) names.push(m[1]);
    assert.ok(names.length > 5);
    for (const n of names) assert.ok(known.has(n), `${n} is not a setting of sharethings --help`);
  });
});

// The desktop's clipboard sync, a user unit (systemctl --user): verified by a user manager's
// rules, and every variable it names is one `sharethings-cli --help` knows.
describe('sharethings-clip.service (user unit)', () => {
  const CLI_BIN = path.join(path.dirname(NATIVE_BIN), 'sharethings-cli');
  const name = 'sharethings-clip.service';

  test('systemd-analyze --user verify prints nothing', () => {
    const dir = tempDir('sharethings-unit-');
    const text = read(name);
    assert.match(text, /^ExecStart=\/usr\/local\/bin\/sharethings-cli clip\b/m);
    assert.ok(fs.existsSync(CLI_BIN), `${CLI_BIN} missing (run.sh builds it)`);
    const file = path.join(dir, name);
    fs.writeFileSync(file, text.replace(/^ExecStart=\/usr\/local\/bin\/sharethings-cli\b/m, `ExecStart=${CLI_BIN}`));
    // A user manager needs a runtime directory; none runs here, so it gets an empty one.
    const res = spawnSync('systemd-analyze', ['--user', 'verify', '--man=no', file], {
      encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: tempDir('sharethings-xdg-') },
    });
    assert.equal(`${res.stdout}${res.stderr}`, '', `verify printed:\n${res.stdout}${res.stderr}`);
    assert.equal(res.status, 0);
  });

  test('its variables and the ones its comments tell users to set are the CLI\'s', () => {
    const help = run(CLI_BIN, ['--help']).out;
    const text = read(name);
    const names = [...text.matchAll(/\b(SHARETHINGS_[A-Z_]+)\b/g)].map((m) => m[1])
      .filter((n) => n !== 'SHARETHINGS_CLIP_ARGS');
    assert.ok(names.length >= 4);
    for (const n of names) assert.match(help, new RegExp(`\\[env:\\s+${n}=`), `${n} is not in sharethings-cli --help`);
    assert.match(run(CLI_BIN, ['clip', '--help']).out, /--send-only/);
  });
});
