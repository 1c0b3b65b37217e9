// The pull request comment for a plan, from plans in Terraform's JSON format
// (plan-comment/fixtures/: `terraform show -json` and `terraform show` of each case) to the
// Markdown a reviewer reads (plan-comment/golden/). Regenerate the golden files after a wanted
// change with UPDATE_GOLDEN=1 and review their diff.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { COMMENT_LIMIT, PLAN_COMMENT_MARKER, StackPlan, renderPlanComment } from '../../review/plan-comment';
import { maskSecrets } from '../../review/mask-secrets';
import { planDifferences, readPlanSummary, summarizePlan } from '../../review/terraform-plan';

const FIXTURES = path.join(__dirname, 'plan-comment', 'fixtures');
const GOLDEN = path.join(__dirname, 'plan-comment', 'golden');
const LOG_URL = 'https://github.com/alvin/wayshub-edge/actions/runs/42';

function stack(name: string, fixture: string): StackPlan {
  const json = path.join(FIXTURES, `${fixture}.json`);
  return {
    stack: name,
    plan: fs.existsSync(json) ? (JSON.parse(fs.readFileSync(json, 'utf8')) as unknown) : undefined,
    planText: fs.existsSync(json) ? fs.readFileSync(path.join(FIXTURES, `${fixture}.txt`), 'utf8') : undefined,
    error: fs.existsSync(json) ? undefined : fs.readFileSync(path.join(FIXTURES, `${fixture}.txt`), 'utf8'),
  };
}

function golden(name: string, markdown: string): void {
  const file = path.join(GOLDEN, `${name}.md`);
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, markdown);
  expect(markdown).toBe(fs.readFileSync(file, 'utf8'));
}

const render = (...stacks: StackPlan[]) => renderPlanComment(stacks, { logUrl: LOG_URL, commit: '9f8e7d6c5b4a39281706' });

describe('the plan comment of one stack', () => {
  test('a first deploy: counts, each new resource with the names it sets, no warning', () => {
    const md = render(stack('wayshub', 'create'));
    golden('create', md);
    expect(md).toContain('### `wayshub`: 5 to add, 0 to change, 0 to replace, 0 to destroy');
    expect(md).not.toContain('[!CAUTION]');
  });

  test('an in-place update names the changed attribute; drift is shown apart', () => {
    const md = render(stack('wayshub', 'update'));
    golden('update', md);
    expect(md).toContain('| 🔧 update in place | `docker_container.db` (the database)');
    expect(md).toMatch(/\*\*Changed outside Terraform\*\*[^]*`docker_container.proxy` \| `restart` \|/);
  });

  test('a replace of the proxy: a warning above the table says what forces it', () => {
    const md = render(stack('wayshub', 'replace-proxy'));
    golden('replace-proxy', md);
    expect(md.indexOf('[!CAUTION]')).toBeLessThan(md.indexOf('| action |'));
    expect(md).toContain('> - replace `docker_container.proxy` (`image` forces it)');
    expect(md).toContain('| ♻️ replace, new one first | `docker_container.app[0]` |');
  });

  test('a destroy of the data volume: bold, with what it holds', () => {
    const md = render(stack('wayshub', 'destroy-volume'));
    golden('destroy-volume', md);
    expect(md).toContain("> - destroy **`docker_volume.db_data` (the database's data)**");
    expect(md).toContain('> - destroy **`docker_container.db` (the database)**');
  });

  test('sensitive values: the attribute is named and marked, its value never printed, and secret-looking text is masked', () => {
    const md = render(stack('wayshub', 'sensitive'));
    golden('sensitive', md);
    expect(md).toContain('`env` (forces replacement, sensitive)');
    for (const secret of ['old-key-value', 'new-key-value', 'hunter2-should-not-show']) expect(md).not.toContain(secret);
  });

  test('no changes: one line', () => {
    const md = render(stack('wayshub', 'no-changes'));
    golden('no-changes', md);
    expect(md).toContain('### `wayshub`: no changes');
    expect(md).not.toContain('| action |');
  });

  test('a plan error: the stack says so, with Terraform’s message, masked', () => {
    const md = render(stack('wayshub', 'plan-error'));
    golden('plan-error', md);
    expect(md).toContain('### `wayshub`: ❌ the plan failed');
    expect(md).toContain('replicas must be a whole number from 1 to 20, got 0.');
    expect(md).not.toContain('hunter2-should-not-show');
  });
});

describe('the comment as a whole', () => {
  test('two stacks: a verdict line for each at the top, then a section each', () => {
    const md = render(stack('wayshub-staging', 'replace-proxy'), stack('wayshub-production', 'no-changes'));
    golden('two-stacks', md);
    expect(md.split('\n').slice(0, 6)).toEqual([
      PLAN_COMMENT_MARKER,
      '## Terraform plan for `9f8e7d6c5b4a`',
      '',
      '- `wayshub-staging`: 0 to add, 0 to change, 4 to replace, 0 to destroy',
      '- `wayshub-production`: no changes',
      '',
    ]);
  });

  test('a plan over 65,000 characters is cut, visibly, with the job log named, and the comment stays under the limit', () => {
    const big = stack('wayshub', 'create');
    const line = '      + label = "a-long-label-value-to-fill-the-plan"\n';
    big.planText = `${big.planText ?? ''}${line.repeat(3000)}Plan: 5 to add, 0 to change, 0 to destroy.\n`;
    expect(big.planText.length).toBeGreaterThan(150_000);
    const md = render(big, stack('wayshub-production', 'update'));
    expect(md.length).toBeLessThan(COMMENT_LIMIT);
    expect(md).toMatch(
      /… [\d,]+ more characters of this plan are cut here \(a comment holds at most 65,000\)\. The whole plan is in the job log: https:\/\/github\.com\/alvin\/wayshub-edge\/actions\/runs\/42/,
    );
    // Both stacks' summaries are whole; only the plan text is cut.
    expect(md).toContain('### `wayshub`: 5 to add, 0 to change, 0 to replace, 0 to destroy');
    expect(md).toContain('| 🔧 update in place | `docker_container.db` (the database)');
    expect(md.match(/<\/details>/g)).toHaveLength(2);
  });

  test('starts with the hidden marker, so the workflow updates its one comment', () => {
    expect(render(stack('wayshub', 'no-changes')).startsWith(`${PLAN_COMMENT_MARKER}\n`)).toBe(true);
  });

  test('input that is not a plan gets one clear line', () => {
    expect(() => renderPlanComment([{ stack: 'wayshub', plan: { hello: 'world' } }])).toThrow(
      'not a Terraform JSON plan (no format_version): expected the output of `terraform show -json <planfile>`',
    );
  });
});

describe('masking secret-looking text', () => {
  test.each([
    ['an env entry', '+ "DB_PASSWORD=hunter2"', '+ "DB_PASSWORD=(masked)"'],
    ['an attribute', '  + jwt_private_key = "abc"', '  + jwt_private_key = (masked)'],
    ['a URL with a password', 'postgres://wayshub:hunter2@db:5432/state', 'postgres://wayshub:(masked)@db:5432/state'],
    ['a private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', '-----BEGIN PRIVATE KEY----- (masked)'],
    ["Terraform's own mask stays", '  ~ env = (sensitive value)', '  ~ env = (sensitive value)'],
    ['an ordinary line stays', '  + name = "wayshub-proxy"', '  + name = "wayshub-proxy"'],
  ])('%s', (_what, text, masked) => {
    expect(maskSecrets(text)).toBe(masked);
  });
});

describe('npm run plan-comment', () => {
  const ROOT = path.join(__dirname, '..', '..');
  const run = (...args: string[]) =>
    spawnSync('node', ['--import', 'tsx', path.join(ROOT, 'scripts', 'plan-comment.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });

  test('reads each stack dir (plan.json and plan.txt, or plan.error) and writes the comment', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-plan-comment-'));
    try {
      for (const [stackName, fixture] of [
        ['wayshub-staging', 'replace-proxy'],
        ['wayshub-production', 'plan-error'],
      ]) {
        const dir = path.join(out, stackName);
        fs.mkdirSync(dir);
        const json = path.join(FIXTURES, `${fixture}.json`);
        if (fs.existsSync(json)) {
          fs.copyFileSync(json, path.join(dir, 'plan.json'));
          fs.copyFileSync(path.join(FIXTURES, `${fixture}.txt`), path.join(dir, 'plan.txt'));
        } else fs.copyFileSync(path.join(FIXTURES, `${fixture}.txt`), path.join(dir, 'plan.error'));
      }
      const result = run('--commit', '9f8e7d6c5b4a39281706', '--log-url', LOG_URL, path.join(out, 'wayshub-staging'), path.join(out, 'wayshub-production'));
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(render(stack('wayshub-staging', 'replace-proxy'), stack('wayshub-production', 'plan-error')));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test.each([
    [
      ['--log-url', 'javascript:alert(1)', '.'],
      'plan-comment: invalid --log-url: "javascript:alert(1)"; allowed: an https:// URL without spaces, brackets or backticks',
    ],
    [['--commit', 'main', '.'], 'plan-comment: invalid --commit: "main"; allowed: a hex commit id'],
    [[], 'plan-comment: usage: npm run plan-comment -- [--log-url URL] [--commit SHA] <stack dir>...'],
    [['__tests__'], 'plan-comment: __tests__ has neither plan.json nor plan.error: run the plan step first'],
  ])('bad input %j: one line, exit 2', (args, line) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(line);
    expect(result.stdout).toBe('');
  });
});

describe('what CI passes between jobs: a names-only summary', () => {
  const plan = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'sensitive.json'), 'utf8')) as unknown;

  test('renders the same comment as the plan it was made from, and holds no value', () => {
    const summary = summarizePlan(plan);
    expect(JSON.stringify(summary)).not.toMatch(/key-value/);
    const text = fs.readFileSync(path.join(FIXTURES, 'sensitive.txt'), 'utf8');
    expect(render({ stack: 'wayshub', summary, planText: text })).toBe(render({ stack: 'wayshub', plan, planText: text }));
  });

  test('two plans differ when a resource, an action or a changed attribute name does', () => {
    const reviewed = summarizePlan(plan);
    expect(planDifferences(reviewed, summarizePlan(plan))).toEqual([]);
    const other = summarizePlan(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'replace-proxy.json'), 'utf8')));
    expect(planDifferences(reviewed, other)).toEqual(
      expect.arrayContaining([
        'reviewed, not planned now: replace docker_container.api[0] (env, id, name)',
        'planned now, not reviewed: replace docker_container.proxy (id, image)',
      ]),
    );
  });

  test('a file that is not a summary gets one clear line', () => {
    expect(() => readPlanSummary('{"format_version":"1.2"}', 'plans/x/plan.summary.json')).toThrow(
      'plans/x/plan.summary.json is not a plan summary: expected the plan.summary.json that npm run plan writes',
    );
  });
});

describe("the README's example", () => {
  test('is what the renderer writes for the fixtures it names (UPDATE_GOLDEN=1 rewrites it)', () => {
    const readme = path.join(__dirname, '..', '..', 'README.md');
    const text = fs.readFileSync(readme, 'utf8');
    const m = /(<!-- generated by renderPlanComment [^\n]*-->\n)([^]*?)(<!-- end of generated comment -->)/.exec(text);
    if (!m) throw new Error('README.md has no generated comment block');
    const example = renderPlanComment([stack('wayshub-staging', 'replace-proxy'), stack('wayshub-production', 'plan-error')], {
      logUrl: LOG_URL,
      commit: '9f8e7d6c5b4a39281706',
    });
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(readme, text.replace(m[0], `${m[1]}${example}${m[3]}`));
    else expect(m[2]).toBe(example);
  });
});
