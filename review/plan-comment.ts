// The pull request comment for a `cdktf diff`: for each stack a verdict with counts, a warning
// that lists every destroy and replace (the database and its data in bold), each resource's
// action with the names of the attributes it changes, drift apart, and Terraform's own text of
// the plan, collapsed and cut to fit. Never a value: names only, and the plan text masked.
// Pure: the caller reads the files (scripts/plan-comment.ts).
import { maskSecrets } from './mask-secrets';
import { Action, AttributeChange, PlanSummary, ResourceChange, summarizePlan } from './terraform-plan';

/** The first line of the comment: the workflow finds its own comment by it and edits it. */
export const PLAN_COMMENT_MARKER = '<!-- wayshub-edge:plan-comment -->';

/** GitHub refuses a comment over 65,536 characters; this leaves room for the marker's neighbours. */
export const COMMENT_LIMIT = 65_000;

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
}

/** Resources whose loss is data loss or an outage a reviewer must not miss. */
const CRITICAL: Readonly<Record<string, string>> = {
  'docker_volume.db_data': "the database's data",
  'docker_container.db': 'the database',
  'docker_volume.letsencrypt': "Let's Encrypt's certificates and account",
};

const LABEL: Record<Action, string> = { create: '➕ create', update: '🔧 update in place', replace: '♻️ replace', destroy: '🗑️ destroy' };
const MAX_LISTED_ATTRIBUTES = 8;
const MAX_ERROR_LINES = 30;

export function renderPlanComment(stacks: readonly StackPlan[], options: PlanCommentOptions = {}): string {
  const sections = stacks.map((s) => renderStack(s));
  const head = [PLAN_COMMENT_MARKER, `## Terraform plan${options.commit ? ` for ${code(options.commit.slice(0, 12))}` : ''}`, ''];
  if (stacks.length > 1) head.push(...sections.map((s) => `- ${s.verdict}`), '');
  const withoutText = [...head, ...sections.map((s) => s.body)].join('\n');
  const texts = fitPlanTexts(
    stacks.map((s) => (s.planText ? maskSecrets(s.planText.trimEnd()) : undefined)),
    COMMENT_LIMIT - withoutText.length - stacks.length * 200,
    options.logUrl,
  );
  const parts = sections.map(
    (s, i) => s.body + (texts[i] === undefined ? '' : '\n' + collapsed('The whole plan, as Terraform prints it', fenced(texts[i] ?? '', 'text'))),
  );
  return `${[...head, ...parts].join('\n').trimEnd()}\n`;
}

interface Section {
  verdict: string;
  body: string;
}

function renderStack(s: StackPlan): Section {
  const title = code(s.stack);
  if (s.plan === undefined && s.summary === undefined) {
    const verdict = `${title}: ❌ the plan failed`;
    const lines = maskSecrets((s.error ?? 'no plan and no error output').trim()).split('\n');
    const shown = lines.slice(-MAX_ERROR_LINES).join('\n');
    const cut = lines.length > MAX_ERROR_LINES ? `\nThe last ${MAX_ERROR_LINES} of ${lines.length} lines; the rest is in the job log.\n` : '';
    return { verdict, body: `### ${verdict}\n\n${fenced(shown, 'text')}${cut}\n` };
  }
  const summary = s.summary ?? summarizePlan(s.plan);
  const { create, update, replace, destroy } = summary.counts;
  const verdict =
    summary.changes.length === 0 ? `${title}: no changes` : `${title}: ${create} to add, ${update} to change, ${replace} to replace, ${destroy} to destroy`;
  const out = [`### ${verdict}`, ''];
  const dangerous = summary.changes.filter((c) => c.action === 'destroy' || c.action === 'replace');
  if (dangerous.length > 0) {
    out.push('> [!CAUTION]', `> This plan destroys or replaces ${dangerous.length === 1 ? '1 resource' : `${dangerous.length} resources`}:`);
    for (const c of dangerous) out.push(`> - ${c.action} ${resourceName(c)}${c.action === 'replace' ? ` (${replaceReason(c)})` : ''}`);
    out.push('');
  }
  if (summary.changes.length > 0) out.push(...table(summary.changes), '');
  if (summary.drift.length > 0) {
    out.push(`**Changed outside Terraform** since the last apply (drift; this plan puts them back as declared):`, '', ...table(summary.drift), '');
  }
  return { verdict, body: out.join('\n') };
}

function table(changes: readonly ResourceChange[]): string[] {
  return [
    '| action | resource | changed attributes (names only) |',
    '| --- | --- | --- |',
    ...changes.map(
      (c) =>
        `| ${LABEL[c.action]}${c.action === 'replace' ? (c.createFirst ? ', new one first' : ', old one first') : ''} | ${resourceName(c)} | ${attributeList(c)} |`,
    ),
  ];
}

/** The address; a critical resource says what it is, in bold when it goes away. */
function resourceName(c: ResourceChange): string {
  const critical = CRITICAL[c.address.replace(/\[[^\]]*\]$/, '')];
  if (!critical) return code(c.address);
  return c.action === 'destroy' || c.action === 'replace' ? `**${code(c.address)} (${critical})**` : `${code(c.address)} (${critical})`;
}

function replaceReason(c: ResourceChange): string {
  const forcing = c.attributes.filter((a) => a.forcesReplacement).map((a) => code(a.name));
  return forcing.length > 0 ? `${forcing.join(', ')} ${forcing.length === 1 ? 'forces' : 'force'} it` : 'replaced';
}

function attributeList(c: ResourceChange): string {
  if (c.action === 'destroy') return '';
  const created = c.action === 'create';
  const describe = (a: AttributeChange): string => {
    // Everything of a new resource is new, and much of it known only after apply: only "sensitive" says more.
    const notes = [a.forcesReplacement && 'forces replacement', !created && a.unknown && 'known after apply', a.sensitive && 'sensitive'].filter(Boolean);
    return `${code(a.name)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  };
  // The id is the provider's own and always new after a create or replace.
  const attributes = c.attributes.filter((a) => a.name !== 'id' || a.forcesReplacement);
  const shown = created ? attributes.slice(0, MAX_LISTED_ATTRIBUTES) : attributes;
  const more = attributes.length - shown.length;
  return [...shown.map(describe), ...(more > 0 ? [`and ${more} more`] : [])].join(', ');
}

/**
 * Cuts the plan texts so that the comment stays under the limit: each gets an even share of what
 * is left, the cut at a line end, with a visible note and where to read the rest.
 */
function fitPlanTexts(texts: readonly (string | undefined)[], budget: number, logUrl: string | undefined): (string | undefined)[] {
  const total = texts.reduce((n, t) => n + (t?.length ?? 0), 0);
  if (total <= budget) return [...texts];
  const share = Math.max(Math.floor(budget / Math.max(texts.filter((t) => t !== undefined).length, 1)), 0);
  return texts.map((t) => {
    if (t === undefined || t.length <= share) return t;
    const end = t.lastIndexOf('\n', share);
    const kept = t.slice(0, end > 0 ? end : share);
    const where = logUrl ? `the job log: ${logUrl}` : "the job's log";
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
