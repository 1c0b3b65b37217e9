// What synthesizes and deploys but is likely a mistake: printed as "wayshub: warning: ..."
// lines by main.ts, while the stack is written as usual.
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';

import type { WayshubSettings } from '.';
import { NAMES } from './names';
import { cidrRange, sharesPrefix } from './validators';

/** Days before a certificate's expiry from which every synth says so. */
export const EXPIRY_WARNING_DAYS = 30;

// Private ranges (RFC 1918, shared address space, unique local IPv6) and how wide a trusted
// part of one may be before it holds far more than a few balancers.
const PRIVATE: ReadonlyArray<{ family: 4 | 6; bytes: number[]; prefix: number; widest: number }> = [
  { family: 4, bytes: [10, 0, 0, 0], prefix: 8, widest: 16 },
  { family: 4, bytes: [172, 16, 0, 0], prefix: 12, widest: 16 },
  { family: 4, bytes: [192, 168, 0, 0], prefix: 16, widest: 16 },
  { family: 4, bytes: [100, 64, 0, 0], prefix: 10, widest: 16 },
  { family: 6, bytes: [0xfc, ...Array<number>(15).fill(0)], prefix: 7, widest: 48 },
];

/** The warnings of one deployment's settings, each one line. */
export function settingsWarnings(settings: WayshubSettings, now: Date = new Date()): string[] {
  const warnings: string[] = [];
  for (const cidr of settings.proxy.realIp?.trustedFrom ?? []) {
    const range = cidrRange(cidr);
    const privateNet = PRIVATE.find((p) => p.family === range.family && range.prefix >= p.prefix && sharesPrefix(range.bytes, p));
    if (privateNet && range.prefix < privateNet.widest) {
      warnings.push(
        `${NAMES.realIpFrom} ${JSON.stringify(cidr)} trusts every address of a wide private range to say who the client is; narrow it to your balancers' addresses (/${privateNet.widest} or narrower)`,
      );
    }
  }
  if (settings.engine === 'swarm' && settings.database) {
    // Backups run on one host only (constructs/settings/backup.ts): say so at every synth.
    warnings.push(
      'with WAYSHUB_ENGINE=swarm the database has no scheduled backups yet; dump it on its node with docker exec ... mysqldump (docs/operations.md#backups)',
    );
  }
  if (settings.tls.mode === 'files') {
    const certificate = new X509Certificate(fs.readFileSync(settings.tls.certFile));
    const served = [settings.domain, ...settings.serverAliases, ...(settings.backend ? [`${settings.backend.subdomain}.${settings.domain}`] : [])];
    // checkHost matches the certificate's names as browsers do (a wildcard covers one label).
    const uncovered = served.filter((name) => certificate.checkHost(name.replace(/^\*\./, 'wildcard-test.')) === undefined);
    if (uncovered.length > 0) {
      warnings.push(
        `the certificate of ${NAMES.tlsCert} does not cover ${uncovered.join(', ')}: browsers will refuse HTTPS there; get one that names every site`,
      );
    }
    const daysLeft = Math.floor((new Date(certificate.validTo).getTime() - now.getTime()) / 86_400_000);
    if (daysLeft < 0) warnings.push(`the certificate of ${NAMES.tlsCert} expired ${-daysLeft} days ago (${certificate.validTo}); renew it and deploy again`);
    else if (daysLeft <= EXPIRY_WARNING_DAYS)
      warnings.push(`the certificate of ${NAMES.tlsCert} expires in ${daysLeft} days (${certificate.validTo}); renew it and deploy again`);
  }
  return warnings;
}
