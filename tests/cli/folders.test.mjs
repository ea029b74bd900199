// Whole folders and the CLI (issue 28, point 2) on the real release server: `send DIR` to a
// CLI `receive --dir` recreates the tree (names, nesting, sizes, bytes, modification times,
// an empty file and an empty folder; a link is left out), and a second copy goes beside the
// first; a folder the CLI sends reaches Chromium, which saves it as a folder and as a ZIP;
// a folder picked in Chromium is recreated by the CLI; and a folder whose list of files
// names a path outside it (a member running altered code) is refused whole, nothing of it
// written, while the receiver goes on.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, waitFor } from '../deploy/lib.mjs';
import { browserSuite, doneItem, localParts, pickedTree, readZip, sha256 } from '../e2e/harness.mjs';
import { browserIn, cli, cliRun, cliSays, newStore, seesMember } from './lib.mjs';

const suite = browserSuite({ name: 'cli-folders', server: false });
/** Modification times on even seconds (a ZIP keeps them to 2 s), one per entry. */
const BASE_MTIME = Date.UTC(2024, 4, 17, 10, 30, 0);
let server;

before(async () => {
  server = await startServer({ env: { LOG_LEVEL: 'warn' } });
  suite.own(server.proc);
});

/**
 * A small tree under `suite.work/<name>`: nested folders (names with spaces and accents), a
 * file over two chunks, an empty file, an empty folder and a link (which is not sent).
 * Returns { root, files: path → { size, hash, mtime }, dirs: empty folder → mtime }.
 */
function makeTree(name) {
  const root = path.join(suite.work, name);
  const files = new Map();
  const time = (i) => BASE_MTIME + i * 2000;
  const add = (rel, bytes) => {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, bytes);
    const mtime = time(files.size);
    fs.utimesSync(full, mtime / 1000, mtime / 1000);
    files.set(rel, { size: bytes.length, hash: sha256(bytes), mtime });
  };
  add('notes.txt', Buffer.from('a note\n'));
  add('photos/día 1/beach.jpg', randomBytes(300 * 1024 + 7));
  add('photos/día 1/empty.txt', Buffer.alloc(0));
  add('photos/día 2/sunset with spaces.bin', randomBytes(1000));
  add('deep/a/b/c/d/e/leaf.txt', Buffer.from('at the bottom\n'));
  fs.symlinkSync('../notes.txt', path.join(root, 'photos', 'a link'));
  const empty = path.join(root, 'nothing here');
  fs.mkdirSync(empty);
  fs.utimesSync(empty, time(10) / 1000, time(10) / 1000);
  return { root, files, dirs: new Map([['nothing here', time(10)]]) };
}

/** A tree on disk as makeTree describes one (links would show as such, and fail the test). */
function readTree(root) {
  const files = new Map();
  const dirs = new Map();
  const walk = (dir, prefix) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      const rel = prefix + e.name;
      const st = fs.lstatSync(full);
      if (e.isDirectory()) {
        if (fs.readdirSync(full).length === 0) dirs.set(rel, Math.round(st.mtimeMs));
        walk(full, `${rel}/`);
      } else if (e.isFile()) {
        files.set(rel, { size: st.size, hash: sha256(fs.readFileSync(full)), mtime: Math.round(st.mtimeMs) });
      } else {
        files.set(rel, 'not a file or a folder');
      }
    }
  };
  walk(root, '');
  return { files, dirs };
}

function newDir(name) {
  const d = path.join(suite.work, name);
  fs.mkdirSync(d);
  return d;
}

describe('CLI → CLI', () => {
  test('send DIR recreates the same tree under --dir, and a second copy goes beside it', { timeout: 240000 }, async () => {
    const session = `cli-folders-${Date.now().toString(36)}`;
    const tree = makeTree('trip');
    const dir = newDir('received-cli');
    const receiver = cli(['receive', '--create', '--dir', dir], { server: server.base, session, name: 'desk' });
    const senderStore = newStore();
    try {
      await cliSays(receiver, /receiving in session/);
      const first = await cliRun(['send', tree.root], { server: server.base, session, name: 'nas', store: senderStore });
      assert.equal(first.code, 0, first.describe());
      assert.match(first.err, /skipped photos\/a link: a link/);
      await cliSays(receiver, /saved folder .*trip \(5 files\) from nas/);
      assert.deepEqual(readTree(path.join(dir, 'trip')), { files: tree.files, dirs: tree.dirs });

      const again = await cliRun(['send', tree.root], { server: server.base, session, name: 'nas', store: senderStore });
      assert.equal(again.code, 0, again.describe());
      await cliSays(receiver, /saved folder .*trip \(1\) \(5 files\) from nas/);
      assert.deepEqual(readTree(path.join(dir, 'trip (1)')), { files: tree.files, dirs: tree.dirs });
      assert.deepEqual(fs.readdirSync(dir).sort(), ['trip', 'trip (1)'], 'no staging folder left');
    } finally {
      await receiver.stop();
    }
  });
});

describe('CLI and Chromium', () => {
  // The web app makes the session (format 2); the CLIs join it with the passphrase.
  const session = `cli-web-folders-${Date.now().toString(36)}`;
  let web;

  before(async () => {
    web = await browserIn(suite, server.base, session, 'Laptop');
  });

  test('a folder the CLI sends is saved by the browser as a folder and as a ZIP', { timeout: 240000 }, async () => {
    const tree = makeTree('from-cli');
    const r = await cliRun(['send', tree.root], { server: server.base, session, name: 'nas' });
    assert.equal(r.code, 0, r.describe());
    const item = await doneItem(web.page, '[data-kind=folder][data-name=from-cli]');
    assert.match(await item.getByTestId('item-meta').innerText(), /6 files and folders/);

    // Into a folder: the one the user would pick is in this origin's private storage.
    await web.page.evaluate(() => {
      window.showDirectoryPicker = async () => (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
    });
    await item.getByTestId('save-folder').click();
    await waitFor('the folder saved', async () => /Saved as the folder “from-cli”/.test(await item.getByTestId('folder-status').innerText()), { timeout: 120000 });
    const saved = await pickedTree(web.page, 'from-cli');
    assert.deepEqual(saved, Object.fromEntries([...tree.files].map(([p, f]) => [p, { size: f.size, hash: f.hash }])));

    // As a ZIP: every name, size, byte and time, the empty folder too.
    const [download] = await Promise.all([web.page.waitForEvent('download', { timeout: 120000 }), item.getByTestId('save-zip').click()]);
    assert.equal(download.suggestedFilename(), 'from-cli.zip');
    const zip = readZip(await download.path());
    const want = Object.fromEntries([...tree.files].map(([p, f]) => [`from-cli/${p}`, [f.size, f.hash, localParts(f.mtime)]]));
    const files = Object.fromEntries(Object.entries(zip).filter(([name]) => !name.endsWith('/')));
    assert.deepEqual(files, want);
    assert.ok('from-cli/nothing here/' in zip, `the empty folder is in the ZIP: ${Object.keys(zip)}`);
  });

  test('a folder picked in the browser is recreated by the CLI under --dir', { timeout: 240000 }, async () => {
    const tree = makeTree('from-web');
    const dir = newDir('received-web');
    const receiver = cli(['receive', '--dir', dir], { server: server.base, session, name: 'desk' });
    try {
      await cliSays(receiver, /receiving in session/);
      await seesMember(web.page, 'desk');
      await web.page.getByTestId('folder-input').setInputFiles(tree.root);
      await cliSays(receiver, /saved folder .*from-web \(5 files\) from Laptop/, 120000);
      // A folder picker gives files only: the empty folder and the link do not come.
      assert.deepEqual(readTree(path.join(dir, 'from-web')), { files: tree.files, dirs: new Map() });
    } finally {
      await receiver.stop();
    }
  });

  test('a folder whose list of files reaches outside it is refused whole; the receiver goes on', { timeout: 240000 }, async () => {
    const root = path.join(suite.work, 'hostile');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'escape.txt'), 'should never land\n');
    fs.writeFileSync(path.join(root, 'inside.txt'), 'fine\n');
    const parent = newDir('hostile-parent');
    const dir = path.join(parent, 'inbox');
    fs.mkdirSync(dir);
    const receiver = cli(['receive', '--dir', dir], { server: server.base, session, name: 'guarded' });
    try {
      await cliSays(receiver, /receiving in session/);
      await seesMember(web.page, 'guarded');
      // The page's own checks leave such a path out, so this page is altered: its folder's
      // list names `../escape.txt`, as a member running altered code could.
      await web.page.evaluate(() => {
        const stringify = JSON.stringify;
        window.restoreStringify = () => { JSON.stringify = stringify; };
        JSON.stringify = function altered(value, ...rest) {
          if (value && Array.isArray(value.entries)) {
            value = { entries: value.entries.map((e) => (e.path === 'escape.txt' ? { ...e, path: '../escape.txt' } : e)) };
          }
          return stringify.call(this, value, ...rest);
        };
      });
      await web.page.getByTestId('folder-input').setInputFiles(root);
      await cliSays(receiver, /hostile: refused: .*"\.\."/, 120000);
      await web.page.evaluate(() => window.restoreStringify());
      const text = 'after the hostile folder';
      const box = web.page.getByLabel('Text to share');
      await box.fill(text);
      await box.press('Control+Enter');
      await waitFor('the next item', () => receiver.out().includes(`${text}\n`), { timeout: 60000 });
      assert.deepEqual(fs.readdirSync(parent), ['inbox'], 'nothing beside --dir');
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing of the folder, and no staging folder left');
    } finally {
      await receiver.stop();
    }
  });
});
