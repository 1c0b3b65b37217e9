// What a reviewer needs from Terraform's JSON plan (`terraform show -json <planfile>`, format
// 1.x): each resource's action and the names of the attributes it changes, never their values;
// moves, imports, forgets and output changes as what they are; and, with a key, a keyed hash of
// each planned change, so that a deploy can prove it applies the values that were reviewed.
// Pure: it reads the JSON it is given.
import { createHmac } from 'node:crypto';

/** One entry of `resource_changes` or `resource_drift`, as much of it as is read here. */
interface ResourceChangeJson {
  address?: unknown;
  previous_address?: unknown;
  mode?: unknown;
  type?: unknown;
  action_reason?: unknown;
  change?: ChangeJson;
}

interface ChangeJson {
  actions?: unknown;
  before?: unknown;
  after?: unknown;
  after_unknown?: unknown;
  before_sensitive?: unknown;
  after_sensitive?: unknown;
  replace_paths?: unknown;
  importing?: unknown;
}

/** `none`: the resource itself is unchanged, but it moves or is imported. */
export type Action = 'create' | 'update' | 'replace' | 'destroy' | 'forget' | 'none';

export interface AttributeChange {
  name: string;
  /** Its new value is known only after apply. */
  unknown: boolean;
  /** Terraform marks it sensitive, before or after. */
  sensitive: boolean;
  /** A change of it is why the resource is replaced. */
  forcesReplacement: boolean;
}

export interface ResourceChange {
  address: string;
  type: string;
  action: Action;
  /** For a replace: ["create","delete"] (create_before_destroy) or ["delete","create"]. */
  createFirst: boolean;
  attributes: AttributeChange[];
  /** A `moved` block: the address it had. */
  movedFrom?: string;
  /** An `import` block brings it under Terraform. */
  imported?: boolean;
  /** Terraform's action_reason, e.g. replace_because_tainted. */
  reason?: string;
  /** A create of what the refresh found deleted outside Terraform (in drift as a delete). */
  deletedOutside?: boolean;
  /** The stack's role label (wayshub.role): app, proxy, database, certbot, migrate. */
  role?: string;
  /** What is lost with it, when it holds data: "the database's data", "a secret". */
  holds?: string;
  /** The keyed hash of what this change writes (summarizePlan's key). */
  digest?: string;
}

export interface OutputChange {
  name: string;
  action: 'create' | 'update' | 'destroy';
  sensitive: boolean;
  digest?: string;
}

export type Counted = 'create' | 'update' | 'replace' | 'destroy' | 'forget' | 'move' | 'import';

/** Which state the plan was made against: any apply in between changes the serial. */
export interface StateVersion {
  lineage: string;
  serial: number;
}

export interface PlanSummary {
  changes: ResourceChange[];
  /** Changes made outside Terraform since the last apply, found while refreshing. */
  drift: ResourceChange[];
  counts: Record<Counted, number>;
  outputs?: OutputChange[];
  state?: StateVersion;
  /** The plan was made without a refresh: drift can't show (a pull request's plan). */
  refreshed?: boolean;
}

export interface SummarizeOptions {
  /** The key of the keyed hashes (WAYSHUB_REVIEW_KEY); without one, no digests. */
  key?: string;
  state?: StateVersion;
  refreshed?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a plan; throws with one line when the JSON is not a Terraform plan. */
export function summarizePlan(plan: unknown, options: SummarizeOptions = {}): PlanSummary {
  if (!isObject(plan) || typeof plan.format_version !== 'string') {
    throw new Error('not a Terraform JSON plan (no format_version): expected the output of `terraform show -json <planfile>`');
  }
  const normalize = planTimeNormalizer(plan.timestamp);
  const digest = options.key === undefined ? undefined : (value: unknown) => keyedHash(options.key ?? '', normalize(value));
  const drift = readChanges(plan.resource_drift);
  const deletedOutside = new Set(drift.filter((d) => d.action === 'destroy').map((d) => d.address));
  const changes = readChanges(plan.resource_changes, digest).map((c) =>
    c.action === 'create' && deletedOutside.has(c.address) ? { ...c, deletedOutside: true } : c,
  );
  const counts: Record<Counted, number> = { create: 0, update: 0, replace: 0, destroy: 0, forget: 0, move: 0, import: 0 };
  for (const c of changes) {
    if (c.action !== 'none') counts[c.action]++;
    if (c.movedFrom) counts.move++;
    if (c.imported) counts.import++;
  }
  return {
    changes,
    drift,
    counts,
    outputs: readOutputs(plan.output_changes, digest),
    ...(options.state ? { state: options.state } : {}),
    ...(options.refreshed === undefined ? {} : { refreshed: options.refreshed }),
  };
}

function readChanges(list: unknown, digest?: (value: unknown) => string): ResourceChange[] {
  const out: ResourceChange[] = [];
  for (const entry of Array.isArray(list) ? (list as ResourceChangeJson[]) : []) {
    if (!isObject(entry) || entry.mode === 'data' || typeof entry.address !== 'string' || !isObject(entry.change)) continue;
    const actions = Array.isArray(entry.change.actions) ? entry.change.actions.join() : '';
    const action = ACTIONS[actions];
    const movedFrom = typeof entry.previous_address === 'string' && entry.previous_address !== entry.address ? entry.previous_address : undefined;
    const imported = isObject(entry.change.importing);
    if (!action || (action === 'none' && !movedFrom && !imported)) continue; // read, or no change at all
    const attributes = action === 'destroy' || action === 'forget' ? [] : changedAttributes(entry.change);
    out.push({
      address: entry.address,
      type: typeof entry.type === 'string' ? entry.type : '',
      action,
      createFirst: actions === 'create,delete',
      attributes,
      ...(movedFrom ? { movedFrom } : {}),
      ...(imported ? { imported } : {}),
      ...(typeof entry.action_reason === 'string' ? { reason: entry.action_reason } : {}),
      ...whatItIs(typeof entry.type === 'string' ? entry.type : '', entry.change),
      ...(digest ? { digest: digest(written(entry.address, actions, movedFrom, imported, entry.change, attributes)) } : {}),
    });
  }
  return out;
}

const ACTIONS: Record<string, Action | undefined> = {
  create: 'create',
  update: 'update',
  'delete,create': 'replace',
  'create,delete': 'replace',
  delete: 'destroy',
  forget: 'forget',
  'no-op': 'none',
};

/** The label every resource of the stack carries (constructs/docker/labels.ts). */
const ROLE_LABEL = 'wayshub.role';
const DATABASE_IMAGE = /(^|\/)(mysql|mariadb|postgres|mongo)(:|@|$)/;
const DATABASE_ENV = /^(MYSQL_ROOT_PASSWORD|MYSQL_DATABASE|MARIADB_ROOT_PASSWORD|POSTGRES_PASSWORD|POSTGRES_DB)(_FILE)?=/;

/**
 * What a resource is, from its values before or after (never from its address): its role label,
 * and what it holds when losing it loses data. A volume holds data unless it is the proxy's
 * rendered config or the ACME challenge files, which every deploy writes again.
 */
function whatItIs(type: string, change: ChangeJson): { role?: string; holds?: string } {
  const values = [change.before, change.after].filter(isObject);
  const role = values.map((v) => findLabel(v, ROLE_LABEL)).find((r) => r !== undefined);
  const text = (key: string) => values.map((v) => v[key]).filter((x): x is string => typeof x === 'string');
  const strings: string[] = [];
  for (const v of values) collectStrings(v, strings);
  const database = role === 'database' || strings.some((x) => DATABASE_IMAGE.test(x) || DATABASE_ENV.test(x));
  let holds: string | undefined;
  if (type === 'docker_volume') {
    const regenerated = role === 'proxy' || text('name').some((n) => n.endsWith('-acme-challenges'));
    if (database) holds = "the database's data";
    else if (role === 'certbot') holds = "Let's Encrypt's certificates and account";
    else if (!regenerated) holds = 'the files in this volume';
  } else if (type === 'docker_secret') {
    holds = database ? "the database's password" : 'a secret (a key or password a service reads)';
  } else if ((type === 'docker_container' || type === 'docker_service') && database) {
    holds = 'the database';
  }
  return { ...(role ? { role } : {}), ...(holds ? { holds } : {}) };
}

/** The value of a Docker label in the provider's `labels` blocks, wherever they sit. */
function findLabel(v: unknown, name: string): string | undefined {
  if (Array.isArray(v))
    for (const x of v) {
      const found = findLabel(x, name);
      if (found !== undefined) return found;
    }
  if (!isObject(v)) return undefined;
  if (v.label === name && typeof v.value === 'string') return v.value;
  for (const x of Object.values(v)) {
    const found = findLabel(x, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function collectStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, out));
  else if (isObject(v)) Object.values(v).forEach((x) => collectStrings(x, out));
}

/**
 * What a change writes: its address and actions and, of each attribute it changes, the new value
 * (or "known after apply"). Values Terraform read back but doesn't change are left out, so a plan
 * refreshed in the deploy and one made without a refresh on the pull request agree.
 */
function written(address: string, actions: string, movedFrom: string | undefined, imported: boolean, change: ChangeJson, attributes: AttributeChange[]) {
  const after = isObject(change.after) ? change.after : {};
  const unknown = isObject(change.after_unknown) ? change.after_unknown : {};
  return {
    address,
    actions,
    movedFrom: movedFrom ?? null,
    imported,
    writes: Object.fromEntries(attributes.map((a) => [a.name, { value: after[a.name] ?? null, unknown: unknown[a.name] ?? false }])),
  };
}

function readOutputs(outputs: unknown, digest?: (value: unknown) => string): OutputChange[] {
  if (!isObject(outputs)) return [];
  const out: OutputChange[] = [];
  for (const [name, change] of Object.entries(outputs)) {
    if (!isObject(change)) continue;
    const actions = Array.isArray(change.actions) ? change.actions.join() : '';
    const action = actions === 'create' ? 'create' : actions === 'update' ? 'update' : actions === 'delete' ? 'destroy' : undefined;
    if (!action) continue;
    out.push({
      name,
      action,
      sensitive: containsTrue(change.before_sensitive) || containsTrue(change.after_sensitive),
      ...(digest ? { digest: digest({ output: name, actions, after: change.after ?? null, unknown: change.after_unknown ?? false }) } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The top-level attributes whose value differs, or will be known only after apply. */
function changedAttributes(change: ChangeJson): AttributeChange[] {
  const before = isObject(change.before) ? change.before : {};
  const after = isObject(change.after) ? change.after : {};
  const unknown = isObject(change.after_unknown) ? change.after_unknown : {};
  const forcing = new Set(
    (Array.isArray(change.replace_paths) ? change.replace_paths : []).flatMap((path) => (Array.isArray(path) && typeof path[0] === 'string' ? [path[0]] : [])),
  );
  const names = [...new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown)])].sort();
  return names
    .filter((name) => containsTrue(unknown[name]) || !deepEqual(before[name], after[name]))
    .map((name) => ({
      name,
      unknown: containsTrue(unknown[name]),
      sensitive:
        containsTrue(isObject(change.before_sensitive) ? change.before_sensitive[name] : false) ||
        containsTrue(isObject(change.after_sensitive) ? change.after_sensitive[name] : false),
      forcesReplacement: forcing.has(name),
    }));
}

/** after_unknown and *_sensitive mirror the value's shape with `true` where it applies. */
function containsTrue(v: unknown): boolean {
  if (v === true) return true;
  if (Array.isArray(v)) return v.some(containsTrue);
  if (isObject(v)) return Object.values(v).some(containsTrue);
  return false;
}

function deepEqual(a: unknown, b: unknown): boolean {
  // An attribute missing on one side and null on the other did not change.
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  }
  return v;
}

/** HMAC-SHA256 of the value's canonical JSON, 128 bits in hex: without the key, no guessing a value from it. */
function keyedHash(key: string, value: unknown): string {
  return createHmac('sha256', key)
    .update(JSON.stringify(canonical(value)))
    .digest('hex')
    .slice(0, 32);
}

/**
 * The stack writes the plan's own time into some values (plantimestamp(): the replicas' name
 * stamp, the config loader's run marker); two plans of the same change made a minute apart
 * must hash alike, so that time is replaced by a placeholder in both of its spellings.
 */
function planTimeNormalizer(timestamp: unknown): (value: unknown) => unknown {
  const m = typeof timestamp === 'string' ? /^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(timestamp) : null;
  if (!m || typeof timestamp !== 'string') return (v) => v;
  const stamp = m.slice(1).join(''); // formatdate("YYMMDDhhmmss", plantimestamp())
  const replace = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(timestamp).join('<plan time>').split(stamp).join('<plan time>');
    if (Array.isArray(v)) return v.map(replace);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x)]));
    return v;
  };
  return replace;
}

/**
 * What a reviewer approved, small enough to travel in the pull request's comment: each change
 * (action, address, changed attribute names) with the keyed hash of what it writes, the same
 * for outputs, and the state version the plan was made against.
 */
export interface ReviewRecord {
  state?: StateVersion;
  changes: Record<string, string | null>;
  outputs: Record<string, string | null>;
}

export function reviewRecord(s: PlanSummary): ReviewRecord {
  return {
    ...(s.state ? { state: s.state } : {}),
    changes: Object.fromEntries(s.changes.map((c) => [`${describe(c)} (${c.attributes.map((a) => a.name).join(', ')})`, c.digest ?? null])),
    outputs: Object.fromEntries((s.outputs ?? []).map((o) => [`output ${o.name} (${o.action})`, o.digest ?? null])),
  };
}

const isSummary = (v: PlanSummary | ReviewRecord): v is PlanSummary => Array.isArray((v as PlanSummary).changes);

/**
 * Where a plan differs from the reviewed one: by resource, action and changed attribute names,
 * and, when both carry digests, by the values each change writes and by the state they were
 * planned against. Empty when alike.
 */
export function planDifferences(reviewedPlan: PlanSummary | ReviewRecord, nowPlan: PlanSummary | ReviewRecord): string[] {
  const reviewed = isSummary(reviewedPlan) ? reviewRecord(reviewedPlan) : reviewedPlan;
  const now = isSummary(nowPlan) ? reviewRecord(nowPlan) : nowPlan;
  const out: string[] = [];
  if (reviewed.state && now.state) {
    if (reviewed.state.lineage !== now.state.lineage)
      out.push(`the state is another one (lineage ${reviewed.state.lineage} reviewed, ${now.state.lineage} now)`);
    else if (reviewed.state.serial !== now.state.serial)
      out.push(`the state changed since the review (serial ${reviewed.state.serial} reviewed, ${now.state.serial} now): something was applied in between`);
  } else if (reviewed.state && !now.state) out.push(`the state the review was planned against (serial ${reviewed.state.serial}) is gone`);
  const keyed = (r: ReviewRecord) => [...Object.values(r.changes), ...Object.values(r.outputs)].some((d) => d !== null);
  if (keyed(reviewed) && !keyed(now) && Object.keys(now.changes).length > 0)
    out.push('the plan now has no digests to compare: set WAYSHUB_REVIEW_KEY to the key the review used');
  for (const kind of ['changes', 'outputs'] as const) {
    const [before, after] = [reviewed[kind], now[kind]];
    for (const k of Object.keys(before)) if (!(k in after)) out.push(`reviewed, not planned now: ${k}`);
    for (const k of Object.keys(after)) if (!(k in before)) out.push(`planned now, not reviewed: ${k}`);
    for (const k of Object.keys(after)) {
      if (!(k in before)) continue;
      const [r, n] = [before[k], after[k]];
      if (r !== null && r !== n) out.push(`planned now with other values than reviewed: ${k}`);
    }
  }
  return out;
}

/** "replace docker_container.app[0]", "move docker_container.a to docker_container.b". */
export function describe(c: ResourceChange): string {
  const parts = [c.action === 'none' ? '' : `${c.action} ${c.address}`];
  if (c.movedFrom) parts.push(c.action === 'none' ? `move ${c.movedFrom} to ${c.address}` : `(moved from ${c.movedFrom})`);
  if (c.imported) parts.push(c.action === 'none' ? `import ${c.address}` : '(imported)');
  return parts.filter(Boolean).join(' ');
}

/** Reads a plan.summary.json that summarizePlan wrote; throws with one line when it is not one. */
export function readPlanSummary(text: string, file: string): PlanSummary {
  const parsed = JSON.parse(text) as Partial<PlanSummary>;
  if (!Array.isArray(parsed.changes) || !Array.isArray(parsed.drift) || typeof parsed.counts !== 'object') {
    throw new Error(`${file} is not a plan summary: expected the plan.summary.json that npm run plan writes`);
  }
  return parsed as PlanSummary;
}
