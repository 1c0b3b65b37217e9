// Settings of HTTPS: off, the user's own certificate files, or Let's Encrypt through certbot.
import { DEFAULTS } from './defaults';
import { NAMES } from './names';
import { SettingsError, checkImage, checkPemFile } from './validators';

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
    case 'files':
      return {
        mode,
        certFile: checkPemFile(tls.certFile, NAMES.tlsCert, 'CERTIFICATE', 'a readable PEM certificate (chain) file'),
        keyFile: checkPemFile(tls.keyFile, NAMES.tlsKey, 'PRIVATE KEY', 'a readable PEM private key file'),
      };
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
      if (!/^https:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]*)?$/.test(directoryUrl)) {
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
