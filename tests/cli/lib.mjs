// Helpers of the CLI suite: browser devices; running the CLI itself is process.mjs's, the
// proxies (one that cuts connections, one that edits the server's WebSocket frames)
// tests/proxies.mjs's. Servers, HAProxy and certificates come from tests/deploy/lib.mjs, the
// browser from tests/e2e/harness.mjs.

import { waitFor } from '../deploy/lib.mjs';
import { join, joined } from '../e2e/harness.mjs';
import { PASS } from './process.mjs';

export { CLI, PASS, MiB, newStore, cli, cliRun, cliSays, cliShows } from './process.mjs';
export { cuttableProxy, frameProxy } from '../proxies.mjs';

/**
 * A browser of `suite` (tests/e2e/harness.mjs's browserSuite, which closes it) joined to
 * `session` at `base`; `insecureCert` accepts the throwaway CA; `legacy` makes a session it
 * creates a format 2 one (else format 3, the web app's default).
 */
export async function browserIn(suite, base, session, name, { insecureCert = false, legacy = false } = {}) {
  const d = await suite.device({ args: insecureCert ? ['--ignore-certificate-errors'] : [] });
  await d.page.goto(base);
  await join(d.page, { session, name, passphrase: PASS, legacy });
  await joined(d.page);
  return d;
}

/** Waits until the web app lists a member called `name`. */
export async function seesMember(page, name) {
  await waitFor(`the web app to list ${name}`, async () =>
    (await page.getByTestId('member-name').allInnerTexts()).some((n) => n.startsWith(name)));
}
