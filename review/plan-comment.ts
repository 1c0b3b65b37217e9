// The pull request comment for a `cdktf diff`. For each stack: a verdict with counts; a **data
// at risk** banner first, found by what each resource is (the database, its volume, its
// password secret, the certificates), including a volume the plan recreates empty; other
// destroys and replaces below it, with a routine rollout of N replicas as one line; a table of
// each change with the names of the attributes it changes (counted resources that change alike
// folded into one row; moves, imports, forgets and outputs as what they are); drift apart; and
// Terraform's own text of the plan, collapsed. Never a value: names only, the plan text masked.
// It always fits in one GitHub comment: what does not fit is cut, visibly, the banners never.
// Pure: the caller reads the files (scripts/plan-comment.ts).
import { maskSecrets } from './mask-secrets';
import { Action, AttributeChange, OutputChange, PlanSummary, ResourceChange, ReviewRecord, reviewRecord, summarizePlan } from './terraform-plan';

/** The first line of the comment: the workflow finds its own comment by it and edits it. */
export const PLAN_COMMENT_MARKER = '<!-- wayshub-edge:plan-comment -->';

/** GitHub refuses a comment over 65,536 characters; this leaves room for the marker's neighbours. */
export const COMMENT_LIMIT = 65_000;

/** Where the comment keeps what a deploy checks it applies: base64url JSON, one line. */
const REVIEW_RECORD = '<!-- wayshub-edge:reviewed ';

export interface StackPlan {
  /** The stack's name, e.g. wayshub-production. */
  stack: string;
  /** `terraform show -json <planfile>`; absent when the plan failed. */
  plan?: unknown;
  /** Or what summarizePlan made of it: names only, safe to pass between CI jobs. */
  summary?: PlanSummary;
  /** `terraform show -no-color <planfile>`: Terraform's own text of the plan. */
  planText?: string;
  /** What `terraform plan` printed when it failed. */
  error?: string;
}

export interface PlanCommentOptions {
  /** Where the whole plan can be read when the comment has to cut it: the job's log. */
  logUrl?: string;
  /** The commit that was planned. */
  commit?: string;
  /** Secret values to mask in the plan text and errors, besides the name patterns. */
  secrets?: readonly string[];
  /** The most characters the comment may have (tests use a smaller one). */
  limit?: number;
}

const LABEL: Record<Action, string> = {
  create: '➕ create',
  update: '🔧 update in place',
  replace: '♻️ replace',
  destroy: '🗑️ destroy',
  forget: '🫳 forget (kept, no longer managed)',
  none: '',
};
const MAX_LISTED_ATTRIBUTES = 8;
const MAX_ERROR_LINES = 30;

export function renderPlanComment(stacks: readonly StackPlan[], options: PlanCommentOptions = {}): string {
  const limit = options.limit ?? COMMENT_LIMIT;
  const sections = stacks.map((s) => renderStack(s, options.secrets ?? []));
  const records = Object.fromEntries(sections.flatMap((s, i) => (s.record ? [[stacks[i].stack, { commit: options.commit ?? null, ...s.record }]] : [])));
  const head = [PLAN_COMMENT_MARKER];
  if (Object.keys(records).length > 0) head.push(`${REVIEW_RECORD}${Buffer.from(JSON.stringify(records)).toString('base64url')} -->`);
  head.push(`## Terraform plan${options.commit ? ` for ${code(options.commit.slice(0, 12))}` : ''}`, '');
  if (stacks.length > 1) head.push(...sections.map((s) => `- ${s.verdict}`), '');
  const where = options.logUrl ? `the job log: ${options.logUrl}` : "the job's log";

  // The tables get what the banners leave; the plan texts get what the tables leave.
  const fixed = [...head, ...sections.map((s) => s.top.join('\n'))].join('\n').length + stacks.length * 300;
  const rowsPerTable = fitRows(sections, limit - fixed);
  const bodies = sections.map((s) => [...s.top, ...s.tables.flatMap((t) => renderTable(t, rowsPerTable, where)), ...s.bottom].join('\n'));
  const withoutText = [...head, ...bodies].join('\n');
  const texts = fitPlanTexts(
    stacks.map((s) => (s.planText ? maskSecrets(s.planText.trimEnd(), options.secrets) : undefined)),
    limit - withoutText.length - stacks.length * 200,
    where,
  );
  const parts = bodies.map(
    (b, i) => b + (texts[i] === undefined ? '' : '\n' + collapsed('The whole plan, as Terraform prints it', fenced(texts[i] ?? '', 'text'))),
  );
  return `${[...head, ...parts].join('\n').trimEnd()}\n`;
}

/** The comment that replaces the last one as soon as a push is planned: no stale plan stays up. */
export function renderPendingComment(stacks: readonly string[], options: PlanCommentOptions = {}): string {
  return [
    PLAN_COMMENT_MARKER,
    `## Terraform plan${options.commit ? ` for ${code(options.commit.slice(0, 12))}` : ''}`,
    '',
    `⏳ Planning ${stacks.map(code).join(', ')}: the plan of each will be here when it is done. An environment whose plan needs a reviewer's approval waits for it in the Actions tab.`,
    ...(options.logUrl ? ['', `Progress: ${options.logUrl}`] : []),
    '',
  ].join('\n');
}

/** The review records a comment carries, by stack; undefined when it has none. */
export function readReviewRecords(comment: string): Record<string, ReviewRecord & { commit: string | null }> | undefined {
  const line = comment.split('\n').find((l) => l.startsWith(REVIEW_RECORD));
  if (!line) return undefined;
  try {
    return JSON.parse(Buffer.from(line.slice(REVIEW_RECORD.length).replace(/ -->$/, ''), 'base64url').toString('utf8')) as Record<
      string,
      ReviewRecord & { commit: string | null }
    >;
  } catch {
    return undefined;
  }
}

interface Row {
  /** The action column. */
  action: string;
  resource: string;
  attributes: string;
}

interface Table {
  intro?: string;
  rows: Row[];
}

interface Section {
  verdict: string;
  /** Never cut: the heading and the banners. */
  top: string[];
  tables: Table[];
  bottom: string[];
  record?: ReviewRecord;
}

function renderStack(s: StackPlan, secrets: readonly string[]): Section {
  const title = code(s.stack);
  if (s.plan === undefined && s.summary === undefined) {
    const verdict = `${title}: ❌ the plan failed`;
    const lines = maskSecrets((s.error ?? 'no plan and no error output').trim(), secrets).split('\n');
    const shown = lines.slice(-MAX_ERROR_LINES).join('\n');
    const cut = lines.length > MAX_ERROR_LINES ? `\nThe last ${MAX_ERROR_LINES} of ${lines.length} lines; the rest is in the job log.\n` : '';
    return { verdict, top: [`### ${verdict}`, '', `${fenced(shown, 'text')}${cut}`], tables: [], bottom: [] };
  }
  const summary = s.summary ?? summarizePlan(s.plan);
  const { create, update, replace, destroy, forget = 0, move = 0, import: imports = 0 } = summary.counts;
  const outputs = summary.outputs ?? [];
  const extra = [
    forget && `${forget} to forget`,
    move && `${move} to move`,
    imports && `${imports} to import`,
    outputs.length && `${outputs.length} output${outputs.length === 1 ? '' : 's'} to change`,
  ]
    .filter(Boolean)
    .join(', ');
  const verdict =
    summary.changes.length === 0 && outputs.length === 0
      ? `${title}: no changes`
      : `${title}: ${create} to add, ${update} to change, ${replace} to replace, ${destroy} to destroy${extra ? `, ${extra}` : ''}`;
  const top = [`### ${verdict}`, ''];
  if (summary.refreshed === false)
    top.push('Planned without reading the Docker host (no refresh): changes made outside Terraform show in the deploy, not here.', '');
  top.push(...dataAtRisk(summary.changes), ...otherLosses(summary.changes));
  const tables: Table[] = [];
  if (summary.changes.length > 0) tables.push({ rows: fold(summary.changes) });
  if (summary.drift.length > 0)
    tables.push({ intro: `**Changed outside Terraform** since the last apply (drift; this plan puts them back as declared):`, rows: fold(summary.drift) });
  const bottom = outputs.length > 0 ? [`Outputs: ${outputs.map(describeOutput).join(', ')}`, ''] : [];
  // Only a keyed plan can be checked at deploy time: without digests, no record (the deploy refuses).
  const keyed = summary.changes.every((c) => c.digest !== undefined) && (summary.outputs ?? []).every((o) => o.digest !== undefined);
  return { verdict, top, tables, bottom, ...(keyed && (summary.changes.length > 0 || summary.state) ? { record: reviewRecord(summary) } : {}) };
}

/** Destroys, replaces and forgets of what holds data, and data volumes the plan creates empty again. */
function dataAtRisk(changes: readonly ResourceChange[]): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    if (!c.holds) continue;
    const volume = c.type === 'docker_volume';
    if (c.action === 'destroy') lines.push(`> - **destroy ${code(c.address)}**: ${volume ? 'deletes' : 'removes'} ${c.holds}`);
    else if (c.action === 'replace') lines.push(`> - **replace ${code(c.address)}** (${replaceReason(c)}): ${replaced(c)}`);
    else if (c.action === 'forget') lines.push(`> - **forget ${code(c.address)}**: ${c.holds} stays on the host, but Terraform no longer manages it`);
    else if (c.action === 'create' && c.deletedOutside && volume)
      lines.push(
        `> - **create ${code(c.address)} again, EMPTY**: it was deleted outside Terraform, and ${c.holds} with it. Restore a backup into it before you apply, or the app starts on nothing.`,
      );
  }
  if (lines.length === 0) return [];
  return ['> [!CAUTION]', '> **Data at risk.** Read this before you approve:', ...lines, ''];
}

function replaced(c: ResourceChange): string {
  if (c.type === 'docker_volume') return `deletes ${c.holds} and creates the volume empty`;
  if (c.type === 'docker_secret') return `replaces ${c.holds}; every service that reads it restarts with the new value`;
  return `stops ${c.holds} and creates it again`;
}

/** Other destroys and replaces: an outage or a loss a reviewer must see; a rollout in one line per kind. */
function otherLosses(changes: readonly ResourceChange[]): string[] {
  const risky = changes.filter((c) => !c.holds && (c.action === 'destroy' || c.action === 'replace'));
  if (risky.length === 0) return [];
  const rollout = (c: ResourceChange) => c.action === 'replace' && c.createFirst && (c.role === 'app' || /\[\d+\]$/.test(c.address));
  const lines: string[] = [];
  const rolled = new Map<string, ResourceChange[]>();
  for (const c of risky) {
    if (rollout(c)) rolled.set(baseAddress(c.address), [...(rolled.get(baseAddress(c.address)) ?? []), c]);
    else {
      const outage = !c.createFirst && (c.type === 'docker_container' || c.type === 'docker_service') ? ', old one first: a moment without it' : '';
      lines.push(`> - ${c.action} ${code(c.address)}${c.action === 'replace' ? ` (${replaceReason(c)}${outage})` : ''}`);
    }
  }
  for (const [base, list] of rolled)
    lines.push(
      `> - rollout: ${list.length === 1 ? `${code(list[0].address)} is` : `${list.length} replicas of ${code(base)} are`} replaced, new ones first (${replaceReason(list[0])})`,
    );
  const [kind, what] = lines.length === rolled.size ? ['[!NOTE]', 'Replaced by design, no data:'] : ['[!WARNING]', 'Destroyed or replaced (no data):'];
  return [`> ${kind}`, `> ${what}`, ...lines, ''];
}

const baseAddress = (address: string): string => address.replace(/\[[^\]]*\]$/, '');

/** Counted resources whose changes look alike share one row: docker_container.app[0…19]. */
function fold(changes: readonly ResourceChange[]): Row[] {
  const rows: Row[] = [];
  const groups = new Map<string, { first: ResourceChange; indexes: string[]; row: number }>();
  for (const c of changes) {
    const row = rowOf(c);
    const m = /^(.*)\[([^\]]*)\]$/.exec(c.address);
    const key = m ? `${m[1]}|${row.action}|${row.attributes}|${c.holds ?? ''}` : undefined;
    const group = key ? groups.get(key) : undefined;
    if (group && m) {
      group.indexes.push(m[2]);
      const base = code(`${m[1]}[${span(group.indexes)}]`);
      rows[group.row] = { ...rows[group.row], resource: `${base} (${group.indexes.length})` };
      continue;
    }
    if (key && m) groups.set(key, { first: c, indexes: [m[2]], row: rows.length });
    rows.push(row);
  }
  return rows;
}

/** 0…19 for a run of numbers, or the keys listed. */
function span(indexes: readonly string[]): string {
  const numbers = indexes.map(Number);
  const run = numbers.every((n, i) => Number.isInteger(n) && (i === 0 || n === numbers[i - 1] + 1));
  return run && numbers.length > 2 ? `${numbers[0]}…${numbers[numbers.length - 1]}` : indexes.join(', ');
}

function rowOf(c: ResourceChange): Row {
  const replace = c.action === 'replace' ? (c.createFirst ? ', new one first' : ', old one first') : '';
  const notes = [c.movedFrom && `➡️ moved from ${code(c.movedFrom)}`, c.imported && '📥 imported'].filter(Boolean).join(', ');
  const action = c.action === 'none' ? notes : `${LABEL[c.action]}${replace}${notes ? `; ${notes}` : ''}`;
  return { action, resource: resourceName(c), attributes: attributeList(c) };
}

function renderTable(t: Table, maxRows: number, where: string): string[] {
  const shown = t.rows.slice(0, maxRows);
  const cut = t.rows.length - shown.length;
  return [
    ...(t.intro ? [t.intro, ''] : []),
    '| action | resource | changed attributes (names only) |',
    '| --- | --- | --- |',
    ...shown.map((r) => `| ${r.action} | ${r.resource} | ${r.attributes} |`),
    ...(cut > 0 ? [`| … | ${cut} more rows are cut here to fit the comment | the whole plan is in ${where} |`] : []),
    '',
  ];
}

/** The most rows per table that fit in budget characters (all of them when they fit). */
function fitRows(sections: readonly Section[], budget: number): number {
  const size = (n: number) =>
    sections.reduce(
      (total, s) =>
        total +
        s.tables.reduce(
          (t, table) => t + table.rows.slice(0, n).reduce((r, row) => r + row.action.length + row.resource.length + row.attributes.length + 10, 300),
          0,
        ),
      0,
    );
  const most = Math.max(0, ...sections.flatMap((s) => s.tables.map((t) => t.rows.length)));
  if (size(most) <= budget) return most;
  let [lo, hi] = [0, most];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The address; what holds data says so, in bold when it goes away. */
function resourceName(c: ResourceChange): string {
  if (!c.holds) return code(c.address);
  const lost = c.action === 'destroy' || c.action === 'replace' || c.action === 'forget' || c.deletedOutside;
  return lost ? `**${code(c.address)} (${c.holds})**` : `${code(c.address)} (${c.holds})`;
}

function replaceReason(c: ResourceChange): string {
  if (c.reason === 'replace_because_tainted') return 'tainted by a failed apply';
  if (c.reason === 'replace_by_request') return 'replaced on request (-replace)';
  const forcing = c.attributes.filter((a) => a.forcesReplacement).map((a) => code(a.name));
  return forcing.length > 0 ? `${forcing.join(', ')} ${forcing.length === 1 ? 'forces' : 'force'} it` : 'replaced';
}

function attributeList(c: ResourceChange): string {
  if (c.action === 'destroy' || c.action === 'forget') return '';
  // A new resource, or one replaced: everything is new, and much of it known only after apply.
  const whole = c.action === 'create' || c.action === 'replace';
  const describe = (a: AttributeChange): string => {
    const notes = [a.forcesReplacement && 'forces replacement', !whole && a.unknown && 'known after apply', a.sensitive && 'sensitive'].filter(Boolean);
    return `${code(a.name)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  };
  // The id is the provider's own and always new after a create or replace; in a replace only
  // what forces it or is written differently is news, not what is merely read back.
  const attributes = c.attributes.filter((a) => (a.name !== 'id' || a.forcesReplacement) && !(c.action === 'replace' && a.unknown && !a.forcesReplacement));
  const shown = whole ? attributes.slice(0, MAX_LISTED_ATTRIBUTES) : attributes;
  const more = attributes.length - shown.length;
  return [...shown.map(describe), ...(more > 0 ? [`and ${more} more`] : [])].join(', ');
}

function describeOutput(o: OutputChange): string {
  const verb = { create: 'new', update: 'changes', destroy: 'removed' }[o.action];
  return `${code(o.name)} ${verb}${o.sensitive ? ' (sensitive)' : ''}`;
}

/**
 * Cuts the plan texts so that the comment stays under the limit: each gets an even share of what
 * is left, the cut at a line end, with a visible note and where to read the rest.
 */
function fitPlanTexts(texts: readonly (string | undefined)[], budget: number, where: string): (string | undefined)[] {
  const total = texts.reduce((n, t) => n + (t?.length ?? 0), 0);
  if (total <= budget) return [...texts];
  const share = Math.max(Math.floor(budget / Math.max(texts.filter((t) => t !== undefined).length, 1)), 0);
  return texts.map((t) => {
    if (t === undefined || t.length <= share) return t;
    if (share < 500) return `The plan text does not fit in the comment. The whole plan is in ${where}`;
    const end = t.lastIndexOf('\n', share - 300);
    const kept = t.slice(0, end > 0 ? end : share - 300);
    return `${kept}\n\n… ${(t.length - kept.length).toLocaleString('en-US')} more characters of this plan are cut here (a comment holds at most ${COMMENT_LIMIT.toLocaleString('en-US')}). The whole plan is in ${where}`;
  });
}

function collapsed(summary: string, body: string): string {
  return `<details><summary>${summary}</summary>\n\n${body}\n</details>\n`;
}

/** A fenced block whose fence is longer than any run of backticks in the text. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}\n`;
}

/** An inline code span that survives backticks and table pipes in its text. */
function code(text: string): string {
  const safe = text.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...safe.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return longest > 0 ? `${ticks} ${safe} ${ticks}` : `${ticks}${safe}${ticks}`;
}
