// What a reviewer needs from Terraform's JSON plan (`terraform show -json <planfile>`, format
// 1.x): each resource's action and the names of the attributes it changes, never their values.
// Pure: it reads the JSON it is given.

/** One entry of `resource_changes` or `resource_drift`, as much of it as is read here. */
interface ResourceChangeJson {
  address?: unknown;
  mode?: unknown;
  type?: unknown;
  change?: {
    actions?: unknown;
    before?: unknown;
    after?: unknown;
    after_unknown?: unknown;
    before_sensitive?: unknown;
    after_sensitive?: unknown;
    replace_paths?: unknown;
  };
}

export type Action = 'create' | 'update' | 'replace' | 'destroy';

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
}

export interface PlanSummary {
  changes: ResourceChange[];
  /** Changes made outside Terraform since the last apply, found while refreshing. */
  drift: ResourceChange[];
  counts: Record<Action, number>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a plan; throws with one line when the JSON is not a Terraform plan. */
export function summarizePlan(plan: unknown): PlanSummary {
  if (!isObject(plan) || typeof plan.format_version !== 'string') {
    throw new Error('not a Terraform JSON plan (no format_version): expected the output of `terraform show -json <planfile>`');
  }
  const changes = readChanges(plan.resource_changes);
  const counts: Record<Action, number> = { create: 0, update: 0, replace: 0, destroy: 0 };
  for (const c of changes) counts[c.action]++;
  return { changes, drift: readChanges(plan.resource_drift), counts };
}

function readChanges(list: unknown): ResourceChange[] {
  const out: ResourceChange[] = [];
  for (const entry of Array.isArray(list) ? (list as ResourceChangeJson[]) : []) {
    if (!isObject(entry) || entry.mode === 'data' || typeof entry.address !== 'string' || !isObject(entry.change)) continue;
    const actions = Array.isArray(entry.change.actions) ? entry.change.actions.join() : '';
    const action = ACTIONS[actions];
    if (!action) continue; // no-op, read
    out.push({
      address: entry.address,
      type: typeof entry.type === 'string' ? entry.type : '',
      action,
      createFirst: actions === 'create,delete',
      attributes: action === 'destroy' ? [] : changedAttributes(entry.change),
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
};

/** The top-level attributes whose value differs, or will be known only after apply. */
function changedAttributes(change: NonNullable<ResourceChangeJson['change']>): AttributeChange[] {
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

/** Where two plans differ, by resource, action and changed attribute names; empty when alike. */
export function planDifferences(reviewed: PlanSummary, now: PlanSummary): string[] {
  const key = (c: ResourceChange) => `${c.action} ${c.address} (${c.attributes.map((a) => a.name).join(', ')})`;
  const before = new Set(reviewed.changes.map(key));
  const after = new Set(now.changes.map(key));
  return [
    ...[...before].filter((k) => !after.has(k)).map((k) => `reviewed, not planned now: ${k}`),
    ...[...after].filter((k) => !before.has(k)).map((k) => `planned now, not reviewed: ${k}`),
  ];
}

/** Reads a plan.summary.json that summarizePlan wrote; throws with one line when it is not one. */
export function readPlanSummary(text: string, file: string): PlanSummary {
  const parsed = JSON.parse(text) as Partial<PlanSummary>;
  if (!Array.isArray(parsed.changes) || !Array.isArray(parsed.drift) || typeof parsed.counts !== 'object') {
    throw new Error(`${file} is not a plan summary: expected the plan.summary.json that npm run plan writes`);
  }
  return parsed as PlanSummary;
}
