import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { i18n } from '../../i18n';
import { caUrl, SYSTEMS } from './systems';
import { hexWithColons, pemToDer } from './use-ca-fingerprint';

const dir = mkdtempSync(join(tmpdir(), 'trust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trust this server', () => {
  it('computes the fingerprint openssl prints for the same certificate', async () => {
    const key = join(dir, 'ca.key');
    const crt = join(dir, 'ca.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=test CA'], { stdio: 'ignore' });
    const expected = execFileSync('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' })
      .trim().split('=')[1];
    const der = pemToDer(readFileSync(crt, 'utf8'));
    expect(der).not.toBeNull();
    expect(hexWithColons(await crypto.subtle.digest('SHA-256', der!))).toBe(expected);
  });

  it('rejects text that holds no certificate', () => {
    expect(pemToDer('<html>not found</html>')).toBeNull();
  });

  it('points at the CA over plain HTTP on the page\'s host, IPv6 in brackets', () => {
    expect(caUrl('sharethings.local')).toBe('http://sharethings.local/sharethings-ca.crt');
    expect(caUrl('fd00::1')).toBe('http://[fd00::1]/sharethings-ca.crt');
  });

  it('has steps for iOS, Android, macOS, Windows and Linux', () => {
    expect(SYSTEMS.map((s) => s.id)).toEqual(['ios', 'android', 'macos', 'windows', 'linux']);
    for (const s of SYSTEMS) {
      expect(i18n.exists(`trust.${s.id}`)).toBe(true);
      for (let step = 1; step <= s.steps; step++) expect(i18n.exists(`trust.${s.id}Step${step}`)).toBe(true);
      expect(i18n.exists(`trust.${s.id}Step${s.steps + 1}`)).toBe(false);
    }
  });
});
