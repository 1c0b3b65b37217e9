// Text that leaves the plan job (comment, job summary, artifact, log) is masked twice:
// - by value: every value the job knows to be secret (the plan's sensitive values, the secrets in
//   its environment) is replaced wherever it appears, in every spelling Terraform or JSON gives
//   it, even in an attribute nobody marked sensitive;
// - by name, as a backstop for secrets the job was never told about: a value after a
//   secret-looking name, a password option, a bearer token, the password in a URL, a private
//   key block.
// Terraform's own "(sensitive value)" stays as it is.

export const MASK = '(masked)';

/** Values shorter than this would mask ordinary words and numbers everywhere; none is a secret worth the name. */
export const MIN_SECRET_LENGTH = 4;

const NAME = '[A-Za-z0-9_.-]*(?:password|passwd|pass|pwd|secret|token|private_?key|api_?key|session_?key|jwt_?key|credential|conn_str)[A-Za-z0-9_.-]*';

const RULES: readonly [RegExp, string][] = [
  // "DB_PASSWORD=hunter2", "MYSQL_PWD=…" inside a quoted string (an env entry).
  [new RegExp(`("${NAME}=)[^"]*(")`, 'gi'), `$1${MASK}$2`],
  // password = "hunter2" / "jwt_private_key" = "…" (an attribute or a map key), but not
  // "(sensitive value)", which Terraform already masked.
  [new RegExp(`^(\\s*[-+~]?\\s*"?${NAME}"?\\s*[=:]\\s*)(?!\\(sensitive value\\))(?!${escape(MASK)}).+$`, 'gim'), `$1${MASK}`],
  // mysqldump --password=hunter2, --token hunter2 on a command line.
  [/((?:^|[\s"'[,])--?(?:password|passwd|pass|pwd|token|secret)[= ])(?!\(masked\))[^\s"',\]]+/gi, `$1${MASK}`],
  // Authorization: Bearer <token>
  [/\b(bearer|basic|token)(\s+)(?!\(masked\))[A-Za-z0-9._~+/=-]{8,}/gi, `$1$2${MASK}`],
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]+:)[^\s@"/]+@/gi, `$1${MASK}@`],
  // PEM blocks: certificates are public, keys are not.
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, `-----BEGIN PRIVATE KEY----- ${MASK}`],
];

/** Masks the given secret values, then whatever looks like a secret. */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  const byValue = spellings(secrets).reduce((out, s) => out.split(s).join(MASK), text);
  return RULES.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), byValue);
}

/**
 * Each secret as it can appear in text: as is, JSON-escaped, as Terraform quotes it, URL-encoded,
 * and line by line (a multi-line key in a heredoc); longest first, so no part of a longer one
 * is left over when a shorter one is replaced.
 */
function spellings(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    const forms = [s, JSON.stringify(s).slice(1, -1), JSON.stringify(s).slice(1, -1).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{'), encodeURIComponent(s)];
    for (const line of s.split(/\r?\n/)) forms.push(line.trim());
    for (const form of forms) if (form.length >= MIN_SECRET_LENGTH) out.add(form);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every string (and number) under a value, as text. */
function leaves(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number') out.push(String(v));
  else if (Array.isArray(v)) v.forEach((x) => leaves(x, out));
  else if (isObject(v)) Object.values(v).forEach((x) => leaves(x, out));
}

/** The leaves of value where its sensitivity mask (Terraform's *_sensitive shape) says true. */
function sensitiveLeaves(value: unknown, mask: unknown, out: string[]): void {
  if (mask === true) return leaves(value, out);
  if (Array.isArray(mask) && Array.isArray(value)) mask.forEach((m, i) => sensitiveLeaves(value[i], m, out));
  else if (isObject(mask) && isObject(value)) for (const [k, m] of Object.entries(mask)) sensitiveLeaves(value[k], m, out);
}

/**
 * The values a JSON plan (`terraform show -json`) marks sensitive: planned and prior attribute
 * values, outputs, and variables declared sensitive.
 */
export function sensitiveValuesOf(plan: unknown): string[] {
  if (!isObject(plan)) return [];
  const out: string[] = [];
  for (const list of [plan.resource_changes, plan.resource_drift]) {
    for (const rc of Array.isArray(list) ? list : []) {
      const c = isObject(rc) && isObject(rc.change) ? rc.change : undefined;
      if (!c) continue;
      sensitiveLeaves(c.before, c.before_sensitive, out);
      sensitiveLeaves(c.after, c.after_sensitive, out);
    }
  }
  for (const o of Object.values(isObject(plan.output_changes) ? plan.output_changes : {})) {
    if (!isObject(o)) continue;
    sensitiveLeaves(o.before, o.before_sensitive, out);
    sensitiveLeaves(o.after, o.after_sensitive, out);
  }
  const walkModule = (m: unknown): void => {
    if (!isObject(m)) return;
    for (const r of Array.isArray(m.resources) ? m.resources : []) if (isObject(r)) sensitiveLeaves(r.values, r.sensitive_values, out);
    for (const child of Array.isArray(m.child_modules) ? m.child_modules : []) walkModule(child);
  };
  for (const values of [plan.planned_values, isObject(plan.prior_state) ? plan.prior_state.values : undefined])
    if (isObject(values)) walkModule(values.root_module);
  const configured = isObject(plan.configuration) && isObject(plan.configuration.root_module) ? plan.configuration.root_module.variables : undefined;
  for (const [name, v] of Object.entries(isObject(plan.variables) ? plan.variables : {})) {
    const declared = isObject(configured) ? configured[name] : undefined;
    if (isObject(declared) && declared.sensitive === true && isObject(v)) leaves(v.value, out);
  }
  // A sensitive env entry "DB_PASS=hunter2": its value may also appear on its own elsewhere.
  for (const entry of [...out]) {
    const m = /^[A-Za-z_][A-Za-z0-9_]*=([^]+)$/.exec(entry);
    if (m) out.push(m[1]);
  }
  return meaningful(out);
}

/** Without values too short or too common to be a secret: masking them would mask ordinary text. */
const meaningful = (values: string[]): string[] => [...new Set(values)].filter((v) => v.length >= MIN_SECRET_LENGTH && !/^(true|false|null|\d+)$/i.test(v));

/** Environment variables whose values are secrets however they are used. */
const SECRET_ENV =
  /^(TF_VAR_.+|PG_CONN_STR|PGPASSWORD|GITHUB_TOKEN|ACTIONS_RUNTIME_TOKEN|SSH_PRIVATE_KEY|WAYSHUB_REVIEW_KEY|.*(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL).*)$/i;

/**
 * The secret values of an environment (the job's): every TF_VAR_*, PG_CONN_STR (and the password
 * inside it), and every variable whose name says it is a secret. A TF_VAR_ that is not a secret
 * (replicas = 3) is too short to mask anything.
 */
export function secretValuesOf(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !SECRET_ENV.test(name)) continue;
    out.push(value);
    // postgres://user:password@host/db, and password=… in a key/value connection string.
    const url = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:([^@\s]+)@/i.exec(value);
    if (url) out.push(url[1], safeDecode(url[1]));
    const kv = /(?:^|\s)password=('(?:[^'\\]|\\.)*'|\S+)/i.exec(value);
    if (kv) out.push(kv[1].replace(/^'|'$/g, ''));
  }
  // Values of ordinary settings that happen to sit in TF_VAR_ (replicas = "3") must not mask text.
  return meaningful(out);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
