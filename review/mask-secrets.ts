// Terraform prints "(sensitive value)" for what is marked sensitive. Text that goes into a pull
// request comment is masked once more, for what looks like a secret without being marked so:
// a value after a secret-looking name, the password in a URL, a private key block.

const SECRET_NAME = '[A-Za-z0-9_.-]*(?:password|passwd|secret|token|private_key|privatekey|api_key|apikey|credential|conn_str)[A-Za-z0-9_.-]*';
const MASK = '(masked)';

const RULES: readonly [RegExp, string][] = [
  // "DB_PASSWORD=hunter2" inside a quoted string (an env entry).
  [new RegExp(`("${SECRET_NAME}=)[^"]*(")`, 'gi'), `$1${MASK}$2`],
  // password = "hunter2" / "jwt_private_key" = "…" (an attribute or a map key), but not
  // "(sensitive value)", which Terraform already masked.
  [new RegExp(`^(\\s*[-+~]?\\s*"?${SECRET_NAME}"?\\s*[=:]\\s*)(?!\\(sensitive value\\))(?!${escape(MASK)}).+$`, 'gim'), `$1${MASK}`],
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]+:)[^\s@"/]+@/gi, `$1${MASK}@`],
  // PEM blocks: certificates are public, keys are not.
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, `-----BEGIN PRIVATE KEY----- ${MASK}`],
];

export function maskSecrets(text: string): string {
  return RULES.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
