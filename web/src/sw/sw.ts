/**
 * The service worker, served as `/sw.js` (root scope). Built apart from the app by
 * `build/service-worker.ts`, which fills in the shell's file list and a build id derived from
 * its bytes, so every new web client is a new worker with a new cache.
 *
 * - App shell: every file of the build is cached at install. Pages are network-first, so a
 *   new build reaches the app the next time it starts; only when the server cannot be reached
 *   does the cached shell open (and the page says the server is unreachable). Other shell files
 *   are cache-first: hashed names never change, and the rest change only with the build id.
 * - Update: the new worker waits until no page runs the old one (a running page keeps the
 *   files it was built with), then activates and deletes every older shell cache.
 * - Share target: the share sheet's POST to /share-target is answered here, the share stored
 *   in IndexedDB, and the app opened; the relay and the health check are never touched.
 */
import { addPendingShare, type StoreOutcome } from './pending-shares';
import { sharedText } from './shared-text';

declare const self: ServiceWorkerGlobalScope;
declare const __SHELL_FILES__: string[];
declare const __BUILD_ID__: string;

const CACHE_PREFIX = 'sharethings-shell-';
const CACHE = `${CACHE_PREFIX}${__BUILD_ID__}`;
const SHELL = new Set(__SHELL_FILES__.map((file) => `/${file}`));
const INDEX = '/index.html';
const SHARE_ACTION = '/share-target';
/** A server that does not answer a page within this long counts as unreachable. */
const NAVIGATION_TIMEOUT_MS = 8_000;
/** Live traffic: never cached, never answered from a cache. */
const LIVE = /^\/(socket\.io|health|metrics)(\/|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([...SHELL].map((path) => new Request(path, { cache: 'no-cache' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const stale = (await caches.keys()).filter((key) => key.startsWith(CACHE_PREFIX) && key !== CACHE);
      await Promise.all(stale.map((key) => caches.delete(key)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === 'POST' && url.pathname === SHARE_ACTION) {
    event.respondWith(receiveShare(request));
  } else if (request.method !== 'GET' || LIVE.test(url.pathname)) {
    return;
  } else if (request.mode === 'navigate') {
    event.respondWith(openPage(request));
  } else if (SHELL.has(url.pathname)) {
    event.respondWith(fromShell(request));
  }
});

async function openPage(request: Request): Promise<Response> {
  try {
    const response = await fetchWithin(request, NAVIGATION_TIMEOUT_MS);
    // A proxy in front of a stopped server answers 502/503: that is unreachable too.
    if (response.status < 500) return response;
  } catch {
    // No network, refused or timed out: the cached shell follows.
  }
  return (await caches.match(INDEX, { cacheName: CACHE })) ?? Response.error();
}

async function fromShell(request: Request): Promise<Response> {
  return (await caches.match(request, { cacheName: CACHE })) ?? fetch(request);
}

function fetchWithin(request: Request, ms: number): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  return fetch(request, { signal: abort.signal }).finally(() => clearTimeout(timer));
}

/** Stores the share and opens the app, which offers to send it once it is in a session. */
async function receiveShare(request: Request): Promise<Response> {
  let outcome: StoreOutcome | 'failed';
  try {
    const form = await request.formData();
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value : '';
    };
    // An empty file input still submits one nameless, empty file.
    const files = form.getAll('files').filter((f): f is File => f instanceof File && (f.name !== '' || f.size > 0));
    outcome = await addPendingShare(sharedText(field('title'), field('text'), field('url')), files);
  } catch {
    outcome = 'failed';
  }
  return Response.redirect(`/?share=${outcome}`, 303);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(
    (async () => {
      const [open] = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      if (open) await open.focus();
      else await self.clients.openWindow('/');
    })(),
  );
});
