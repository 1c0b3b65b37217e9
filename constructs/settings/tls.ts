// Settings of HTTPS: off, the user's own certificate files, or Let's Encrypt through certbot.
import { KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';

import { DEFAULTS } from './defaults';
import { NAMES } from './names';
import { SettingsError, checkImage, checkPemFile, portInRange } from './validators';

/** HTTPS: off, your own certificate files, or Let's Encrypt through certbot. */
export type TlsSettings =
  | { readonly mode: 'off' }
  /** Paths on the machine that runs cdktf; read by Terraform at apply time, never synthesized. */
  | { readonly mode: 'files'; readonly certFile: string; readonly keyFile: string }
  | {
      readonly mode: 'letsencrypt';
      /** Contact address for expiry notices (required by Let's Encrypt). */
      readonly email: string;
      /** ACME directory URL. */
      readonly directoryUrl: string;
      /** Extra CA certificate (PEM) certbot trusts: for a private ACME server. */
      readonly caFile?: string;
      readonly certbotImage: string;
    };

export interface TlsInput {
  mode?: string;
  certFile?: string;
  keyFile?: string;
  email?: string;
  /** `production`, `staging` or an https URL. */
  directoryUrl?: string;
  caFile?: string;
  certbotImage?: string;
}

export const ACME_DIRECTORIES = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

export function resolveTls(tls: TlsInput, serverAliases: readonly string[]): TlsSettings {
  const mode = tls.mode ?? 'off';
  switch (mode) {
    case 'off':
      return { mode };
    case 'files': {
      const certFile = checkPemFile(tls.certFile, NAMES.tlsCert, 'CERTIFICATE', 'a readable PEM certificate (chain) file');
      const keyFile = checkPemFile(tls.keyFile, NAMES.tlsKey, 'PRIVATE KEY', 'a readable PEM private key file');
      checkKeyPair(certFile, keyFile, tls.certFile ?? certFile, tls.keyFile ?? keyFile);
      return { mode, certFile, keyFile };
    }
    case 'letsencrypt': {
      const email = tls.email;
      if (email === undefined || !/^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(email)) {
        throw new SettingsError(NAMES.acmeEmail, email ?? '', 'required with WAYSHUB_TLS=letsencrypt; allowed: an e-mail address like you@alvin.xyz');
      }
      const wildcard = serverAliases.find((a) => a.startsWith('*.'));
      if (wildcard) {
        throw new SettingsError(NAMES.serverAliases, wildcard, "Let's Encrypt's HTTP-01 challenge cannot issue wildcard names; allowed: names without *");
      }
      const given = tls.directoryUrl ?? 'production';
      const directoryUrl = given in ACME_DIRECTORIES ? ACME_DIRECTORIES[given as keyof typeof ACME_DIRECTORIES] : given;
      if (!/^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/.test(directoryUrl) || !portInRange(directoryUrl)) {
        throw new SettingsError(NAMES.acmeDirectory, given, 'allowed: production, staging, or an https:// URL of an ACME directory');
      }
      return {
        mode,
        email,
        directoryUrl,
        caFile: tls.caFile === undefined ? undefined : checkPemFile(tls.caFile, NAMES.acmeCa, 'CERTIFICATE', 'a readable PEM CA certificate file'),
        certbotImage: checkImage(tls.certbotImage ?? DEFAULTS.certbotImage, NAMES.certbotImage),
      };
    }
    default:
      throw new SettingsError(NAMES.tlsMode, mode, 'allowed: off, files or letsencrypt');
  }
}

/** The first certificate of a PEM file (the server's own, in a chain). */
export function readCertificate(file: string, setting: string, given: string): X509Certificate {
  try {
    return new X509Certificate(fs.readFileSync(file));
  } catch {
    throw new SettingsError(setting, given, 'its first certificate cannot be read; allowed: a PEM certificate chain, the server certificate first');
  }
}

/**
 * What nginx would find only at deploy (`nginx -t`), found at synth: a key nginx can't read
 * without a passphrase, or one that is not the certificate's.
 */
function checkKeyPair(certFile: string, keyFile: string, givenCert: string, givenKey: string): void {
  const certificate = readCertificate(certFile, NAMES.tlsCert, givenCert);
  const pem = fs.readFileSync(keyFile, 'utf8');
  if (/ENCRYPTED/.test(pem)) {
    throw new SettingsError(
      NAMES.tlsKey,
      givenKey,
      'the key is encrypted, and nginx would ask for its passphrase at every start; allowed: the key without one (openssl pkey -in key.pem -out plain-key.pem)',
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new SettingsError(NAMES.tlsKey, givenKey, 'the key cannot be read; allowed: a PEM private key without a passphrase');
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new SettingsError(
      NAMES.tlsKey,
      givenKey,
      `it is not the key of the certificate of ${NAMES.tlsCert}; allowed: the private key that certificate was issued for`,
    );
  }
}
