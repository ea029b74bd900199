/**
 * Registers `/sw.js` (built from src/sw/) so the app can be installed, opens without the
 * server, and receives the share sheet. Only in the production build, and only where service
 * workers exist: plain-HTTP pages (not a secure context) have none and work as before.
 */
export function registerServiceWorker() {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  // Every start asks the server for a new worker (updateViaCache 'none': past the HTTP cache,
  // and at once rather than whenever the browser gets round to it), so an installed app gets a
  // new web client on its next start.
  navigator.serviceWorker
    .register('/sw.js', { scope: '/', updateViaCache: 'none' })
    .then((registration) => registration.update())
    .catch(() => {
      // Without a worker the page still works online; there is nothing the user could do about it.
    });
}
