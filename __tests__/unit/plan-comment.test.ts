// The pull request comment for a plan, from plans in Terraform's JSON format
// (plan-comment/fixtures/: `terraform show -json` and `terraform show` of each case) to the
// Markdown a reviewer reads (plan-comment/golden/). Regenerate the golden files after a wanted
// change with UPDATE_GOLDEN=1 and review their diff.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { COMMENT_LIMIT, PLAN_COMMENT_MARKER, StackPlan, readReviewRecords, renderPendingComment, renderPlanComment } from '../../review/plan-comment';
import { maskSecrets, secretValuesOf, sensitiveValuesOf } from '../../review/mask-secrets';
import { ReviewRecord, planDifferences, readPlanSummary, reviewRecord, summarizePlan } from '../../review/terraform-plan';
import { readStack as readStackOf } from '../../scripts/plan-comment';
import { labels, planJson, planText, replicaRollout } from '../support/plan-json';

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
    expect(md).toContain('### `wayshub`: 4 to add, 0 to change, 0 to replace, 0 to destroy');
    expect(md).not.toContain('[!CAUTION]');
  });

  test('an in-place update names the changed attribute; drift is shown apart', () => {
    const md = render(stack('wayshub', 'update'));
    golden('update', md);
    expect(md).toContain('| 🔧 update in place | `docker_container.db` (the database)');
    expect(md).toMatch(/\*\*Changed outside Terraform\*\*[^]*`docker_container.proxy` \| `restart` \|/);
  });

  test('a replace of the proxy: a warning above the table says what forces it and that it goes first; no data at risk', () => {
    const md = render(stack('wayshub', 'replace-proxy'));
    golden('replace-proxy', md);
    expect(md.indexOf('[!WARNING]')).toBeLessThan(md.indexOf('| action |'));
    expect(md).not.toContain('Data at risk');
    expect(md).toContain('> - replace `docker_container.proxy` (`image` forces it, old one first: a moment without it)');
    expect(md).toContain('| ♻️ replace, new one first | `docker_container.app[0]` |');
  });

  test('a destroy of the database and its volume: a data-at-risk banner first, found by their role label', () => {
    const md = render(stack('wayshub', 'destroy-volume'));
    golden('destroy-volume', md);
    expect(md.indexOf('**Data at risk.**')).toBeLessThan(md.indexOf('[!WARNING]'));
    expect(md).toContain("> - **destroy `docker_volume.db_data`**: deletes the database's data");
    expect(md).toContain('> - **destroy `docker_container.db`**: removes the database');
    expect(md).toContain('> - destroy `docker_network.db_network`');
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
      '- `wayshub-staging`: 0 to add, 0 to change, 3 to replace, 0 to destroy',
      '- `wayshub-production`: no changes',
      '',
    ]);
  });

  test('a plan over 65,000 characters is cut, visibly, with the job log named, and the comment stays under the limit', () => {
    const big = stack('wayshub', 'create');
    const line = '      + label = "a-long-label-value-to-fill-the-plan"\n';
    big.planText = `${big.planText ?? ''}${line.repeat(3000)}Plan: 4 to add, 0 to change, 0 to destroy.\n`;
    expect(big.planText.length).toBeGreaterThan(150_000);
    const md = render(big, stack('wayshub-production', 'update'));
    expect(md.length).toBeLessThan(COMMENT_LIMIT);
    expect(md).toMatch(
      /… [\d,]+ more characters of this plan are cut here \(a comment holds at most 65,000\)\. The whole plan is in the job log: https:\/\/github\.com\/alvin\/wayshub-edge\/actions\/runs\/42/,
    );
    // Both stacks' summaries are whole; only the plan text is cut.
    expect(md).toContain('### `wayshub`: 4 to add, 0 to change, 0 to replace, 0 to destroy');
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
    [[], 'plan-comment: usage: npm run plan-comment -- [--log-url URL] [--commit SHA] [--pending] <stack dir>...'],
    [['--pending', 'wayshub staging'], 'plan-comment: invalid stack name "wayshub staging"; allowed: letters, digits, - and _'],
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

describe('the example in docs/review.md', () => {
  test('is what the renderer writes for the fixtures it names (UPDATE_GOLDEN=1 rewrites it)', () => {
    const readme = path.join(__dirname, '..', '..', 'docs', 'review.md');
    const text = fs.readFileSync(readme, 'utf8');
    const m = /(<!-- generated by renderPlanComment [^\n]*-->\n)([^]*?)(<!-- end of generated comment -->)/.exec(text);
    if (!m) throw new Error('docs/review.md has no generated comment block');
    const example = renderPlanComment([stack('wayshub-staging', 'replace-proxy'), stack('wayshub-production', 'plan-error')], {
      logUrl: LOG_URL,
      commit: '9f8e7d6c5b4a39281706',
    });
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(readme, text.replace(m[0], `${m[1]}${example}${m[3]}`));
    else expect(m[2]).toBe(example);
  });
});

// The review's harder cases, on plans built like Terraform 1.11 prints them (support/plan-json).
describe('what a reviewer sees first, for each kind of plan', () => {
  const PLANNED = '2026-12-05T10:00:00Z';
  const built = (name: string, plan: object, text?: string): StackPlan => ({ stack: name, plan, planText: text });

  test('a rollout of 20 + 20 replicas in two environments: one line per tier, no data caution, and the comment fits', () => {
    const rollout = (env: string) => [
      ...replicaRollout('app', 20, { from: 'sha256:old-app', to: 'sha256:new-app', planTime: PLANNED, prefix: `wayshub-${env}` }),
      ...replicaRollout('api', 20, { from: 'sha256:old-api', to: 'sha256:new-api', planTime: PLANNED, prefix: `wayshub-${env}` }),
    ];
    const stacks = ['staging', 'production'].map((env) => built(`wayshub-${env}`, planJson(rollout(env), { timestamp: PLANNED }), planText(rollout(env))));
    const textSize = stacks.reduce((n, s) => n + (s.planText?.length ?? 0), 0);
    const md = render(...stacks);
    golden('rollout-40', md.replace(/(```text\n)[^]*?(\n```)/g, '$1(Terraform’s text, cut to fit: see the test)$2'));
    process.stderr.write(`  [plan-comment] 40-replica rollout in two environments: plan texts ${textSize} characters, comment ${md.length}\n`);
    expect(textSize).toBeGreaterThan(COMMENT_LIMIT);
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(md).not.toContain('[!CAUTION]');
    expect(md).toContain('> - rollout: 20 replicas of `docker_container.app` are replaced, new ones first (`image` forces it)');
    expect(md).toContain('| ♻️ replace, new one first | `docker_container.api[0…19]` (20) | `image` (forces replacement), `name` |');
    expect(md).toMatch(/more characters of this plan are cut here/);
  });

  test('a plan too big to list: banners whole, tables cut with a note, and still under the limit', () => {
    const many = Array.from({ length: 900 }, (_, i) => ({
      address: `docker_container.extra_${i}_${'x'.repeat(40)}`,
      type: 'docker_container',
      actions: ['update'],
      before: { memory: 1, restart: 'no', labels: labels('app') },
      after: { memory: 2, restart: 'always', labels: labels('app') },
    }));
    const db = { address: 'docker_volume.data', type: 'docker_volume', actions: ['delete'], before: { name: 'wayshub-db-data', labels: labels('database') } };
    const md = render(built('wayshub-staging', planJson([...many, db])), built('wayshub-production', planJson(many)));
    process.stderr.write(`  [plan-comment] 1,801 changes with no two alike: comment ${md.length} characters\n`);
    expect(md.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(md).toContain("> - **destroy `docker_volume.data`**: deletes the database's data");
    expect(md).toMatch(/\| … \| \d+ more rows are cut here to fit the comment \| the whole plan is in the job log: https:/);
  });

  test('with Swarm: the database service and its password secret are data at risk', () => {
    const plan = planJson([
      {
        address: 'docker_service.db',
        type: 'docker_service',
        actions: ['delete', 'create'],
        before: { name: 'wayshub-db', task_spec: [{ container_spec: [{ image: 'mysql:8.4', labels: labels('database') }] }] },
        after: {
          name: 'wayshub-db',
          task_spec: [{ container_spec: [{ image: 'mysql:8.4', labels: labels('database') }] }],
          mode: [{ replicated: [{ replicas: 1 }] }],
        },
        replace_paths: [['mode']],
      },
      {
        address: 'docker_secret.db_password',
        type: 'docker_secret',
        actions: ['delete', 'create'],
        before: { name: 'wayshub-db-password-1', data: 'c2VjcmV0', labels: labels('database') },
        after: { name: 'wayshub-db-password-2', data: 'bmV3c2VjcmV0', labels: labels('database') },
        after_sensitive: { data: true },
        before_sensitive: { data: true },
        replace_paths: [['name']],
      },
    ]);
    const md = render(built('wayshub', plan));
    golden('swarm-database', md);
    expect(md).toContain('> - **replace `docker_service.db`** (`mode` forces it): stops the database and creates it again');
    expect(md).toContain(
      "> - **replace `docker_secret.db_password`** (`name` forces it): replaces the database's password; every service that reads it restarts with the new value",
    );
  });

  test('a data volume deleted outside Terraform: the plan would create it again EMPTY, and the banner says so', () => {
    const volume = { name: 'wayshub-db-data', driver: 'local', labels: labels('database') };
    const plan = planJson(
      [{ address: 'docker_volume.db_data', type: 'docker_volume', actions: ['create'], after: volume, after_unknown: { id: true, mountpoint: true } }],
      {
        drift: [{ address: 'docker_volume.db_data', type: 'docker_volume', actions: ['delete'], before: { ...volume, id: 'wayshub-db-data' }, after: null }],
      },
    );
    const md = render(built('wayshub', plan));
    golden('volume-deleted-outside', md);
    expect(md.split('\n').slice(5, 8)).toEqual([
      '> [!CAUTION]',
      '> **Data at risk.** Read this before you approve:',
      "> - **create `docker_volume.db_data` again, EMPTY**: it was deleted outside Terraform, and the database's data with it. Restore a backup into it before you apply, or the app starts on nothing.",
    ]);
  });

  test('moves, imports, forgets and outputs are shown as what they are, not as "no changes"', () => {
    const plan = planJson(
      [
        {
          address: 'docker_network.edge',
          previous_address: 'docker_network.network',
          type: 'docker_network',
          actions: ['no-op'],
          before: { name: 'n' },
          after: { name: 'n' },
        },
        {
          address: 'docker_volume.logs',
          type: 'docker_volume',
          actions: ['no-op'],
          importing: { id: 'wayshub-logs' },
          before: { name: 'wayshub-logs' },
          after: { name: 'wayshub-logs' },
        },
        {
          address: 'docker_volume.letsencrypt',
          type: 'docker_volume',
          actions: ['forget'],
          before: { name: 'wayshub-letsencrypt', labels: labels('certbot') },
          after: null,
        },
      ],
      {
        outputs: {
          url: { actions: ['update'], before: 'http://a', after: 'https://a' },
          jwt_public_key: { actions: ['create'], before: null, after: 'k', sensitive: true },
        },
      },
    );
    const md = render(built('wayshub', plan));
    golden('move-import-forget', md);
    expect(md).toContain('### `wayshub`: 0 to add, 0 to change, 0 to replace, 0 to destroy, 1 to forget, 1 to move, 1 to import, 2 outputs to change');
    expect(md).toContain('| ➡️ moved from `docker_network.network` | `docker_network.edge` |');
    expect(md).toContain('| 📥 imported | `docker_volume.logs` (the files in this volume) |');
    expect(md).toContain(
      "> - **forget `docker_volume.letsencrypt`**: Let's Encrypt's certificates and account stays on the host, but Terraform no longer manages it",
    );
    expect(md).toContain('Outputs: `jwt_public_key` new (sensitive), `url` changes');
  });

  test('a failed environment: its verdict says so at the top, with the masked error; a plan job that left nothing says that', () => {
    const missing = readStackOf(path.join(os.tmpdir(), 'no-such-dir', 'wayshub-production'));
    const md = render(stack('wayshub-staging', 'plan-error'), missing);
    golden('failed-environment', md);
    expect(md.split('\n').slice(3, 5)).toEqual(['- `wayshub-staging`: ❌ the plan failed', '- `wayshub-production`: ❌ the plan failed']);
    expect(md).toContain('The plan job of this stack ended before it planned');
  });

  test('while a push is planned, the comment says so (no stale plan stays up)', () => {
    const md = renderPendingComment(['wayshub-staging', 'wayshub-production'], { commit: '9f8e7d6c5b4a39281706', logUrl: LOG_URL });
    expect(md.startsWith(`${PLAN_COMMENT_MARKER}\n## Terraform plan for \`9f8e7d6c5b4a\`\n`)).toBe(true);
    expect(md).toContain('⏳ Planning `wayshub-staging`, `wayshub-production`');
  });
});

describe('masking by value: a secret in an attribute nobody marked sensitive', () => {
  const PASSWORD = 'Sup3r-s3cret-pw';
  const JWT = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
  const env = {
    TF_VAR_db_password: PASSWORD,
    TF_VAR_jwt_private_key: JWT,
    TF_VAR_replicas: '3',
    PG_CONN_STR: 'postgres://wayshub:pg%2Fpass-9@db:5432/state',
    HOME: '/root',
  };
  const plan = planJson(
    [
      {
        address: 'docker_container.migrate',
        type: 'docker_container',
        actions: ['create'],
        after: {
          name: 'wayshub-migrate',
          command: ['sh', '-c', `mysqldump -uroot -p${PASSWORD} wayshub`],
          env: ['DB_PASS=plain-db-pass-77', 'MYSQL_PWD=plain-mysql-pwd-77', 'SESSION_KEY=plain-session-77', 'AUTHORIZATION=Bearer abcdefgh12345678'],
          labels: labels('migrate'),
        },
      },
      {
        address: 'docker_container.api[0]',
        type: 'docker_container',
        actions: ['update'],
        before: { env: ['JWT=old-sensitive-jwt'] },
        after: { env: ['JWT=new-sensitive-jwt'] },
        before_sensitive: { env: true },
        after_sensitive: { env: true },
      },
    ],
    { variables: { db_password: { value: PASSWORD, sensitive: true }, replicas: { value: 3 } } },
  );
  const text = [
    `      + command = ["sh", "-c", "mysqldump -uroot -p${PASSWORD} wayshub"]`,
    '      + env     = ["DB_PASS=plain-db-pass-77", "MYSQL_PWD=plain-mysql-pwd-77", "SESSION_KEY=plain-session-77", "AUTHORIZATION=Bearer abcdefgh12345678"]',
    `      + note    = ${JSON.stringify(JWT)}`,
    '      + conn    = "pg/pass-9 and pg%2Fpass-9"',
    '      + mount   = "/run/new-sensitive-jwt"',
    '      + run     = "mysql --password hunter2hunter2 -e select"',
    '      ~ env     = (sensitive value)',
  ].join('\n');

  test('the comment holds none of them, in any spelling, and says where they were', () => {
    const md = render({ stack: 'wayshub', plan, planText: text }).replace(/<!-- wayshub-edge:reviewed .* -->\n/, '');
    const secrets = [...secretValuesOf(env), ...sensitiveValuesOf(plan)];
    const masked = renderPlanComment([{ stack: 'wayshub', plan, planText: text }], { logUrl: LOG_URL, commit: '9f8e7d6c5b4a39281706', secrets });
    golden('secret-in-plain-attribute', masked);
    for (const secret of [
      PASSWORD,
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
      'pg/pass-9',
      'pg%2Fpass-9',
      'new-sensitive-jwt',
      'plain-db-pass-77',
      'plain-mysql-pwd-77',
      'plain-session-77',
      'abcdefgh12345678',
      'hunter2hunter2',
    ])
      expect(masked).not.toContain(secret);
    // By name alone (no values given), the password inside the command line still shows: why masking by value exists.
    expect(md).toContain(PASSWORD);
    expect(masked).toContain('(sensitive value)');
  });

  test.each([
    ['DB_PASS in an env entry', '"DB_PASS=x1y2z3w4"', '"DB_PASS=(masked)"'],
    ['MYSQL_PWD', '"MYSQL_PWD=x1y2z3w4"', '"MYSQL_PWD=(masked)"'],
    ['SESSION_KEY', '"SESSION_KEY=x1y2z3w4"', '"SESSION_KEY=(masked)"'],
    ['a password option', 'mysql --password=x1y2z3w4 -e', 'mysql --password=(masked) -e'],
    ['a bearer token', 'Authorization: Bearer x1y2z3w4x1y2', 'Authorization: Bearer (masked)'],
  ])('by name: %s', (_what, line, masked) => {
    expect(maskSecrets(line)).toBe(masked);
  });

  test('values too short or too plain to be secrets mask nothing (replicas = "3")', () => {
    expect(secretValuesOf({ TF_VAR_replicas: '3', TF_VAR_debug: 'true', TF_VAR_x: 'abc' })).toEqual([]);
    expect(maskSecrets('replicas = 3, debug = true', secretValuesOf({ TF_VAR_replicas: '3' }))).toBe('replicas = 3, debug = true');
  });
});

describe('apply exactly what was reviewed: keyed hashes of each change', () => {
  const KEY = 'review-key-for-tests';
  const rollout = (image: string, planTime: string) => planJson(replicaRollout('app', 3, { from: 'sha256:old', to: image, planTime }), { timestamp: planTime });

  test('the same change planned a minute later hashes alike (the plan time in names is not a change)', () => {
    const a = summarizePlan(rollout('sha256:new', '2026-12-05T10:00:00Z'), { key: KEY });
    const b = summarizePlan(rollout('sha256:new', '2026-12-05T10:01:07Z'), { key: KEY });
    expect(a.changes[0].digest).toMatch(/^[0-9a-f]{32}$/);
    expect(planDifferences(a, b)).toEqual([]);
  });

  test('the same names with another value are refused, change by change', () => {
    const reviewed = summarizePlan(rollout('sha256:new', '2026-12-05T10:00:00Z'), { key: KEY });
    const now = summarizePlan(rollout('sha256:evil', '2026-12-05T10:05:00Z'), { key: KEY });
    expect(planDifferences(reviewed, now)).toEqual([
      'planned now with other values than reviewed: replace docker_container.app[0] (container_logs, exit_code, hostname, id, image, name, network_data)',
      'planned now with other values than reviewed: replace docker_container.app[1] (container_logs, exit_code, hostname, id, image, name, network_data)',
      'planned now with other values than reviewed: replace docker_container.app[2] (container_logs, exit_code, hostname, id, image, name, network_data)',
    ]);
  });

  test('a secret changed between review and deploy is caught, though neither plan shows it', () => {
    const plan = (jwt: string) =>
      planJson([
        {
          address: 'docker_container.api[0]',
          type: 'docker_container',
          actions: ['update'],
          before: { env: ['JWT=a'] },
          after: { env: [`JWT=${jwt}`] },
          before_sensitive: { env: true },
          after_sensitive: { env: true },
        },
      ]);
    const reviewed = summarizePlan(plan('b'), { key: KEY });
    expect(JSON.stringify(reviewed)).not.toContain('JWT=');
    expect(planDifferences(reviewed, summarizePlan(plan('c'), { key: KEY }))).toEqual([
      'planned now with other values than reviewed: update docker_container.api[0] (env)',
    ]);
  });

  test('without the key the hashes are others: nobody can test a guess of a value against the comment', () => {
    const plan = rollout('sha256:new', '2026-12-05T10:00:00Z');
    expect(summarizePlan(plan, { key: KEY }).changes[0].digest).not.toBe(summarizePlan(plan, { key: 'another-key' }).changes[0].digest);
  });

  test('a plan against a newer state is refused: two PRs planned against one old state cannot both apply', () => {
    const plan = rollout('sha256:new', '2026-12-05T10:00:00Z');
    const reviewed = summarizePlan(plan, { key: KEY, state: { lineage: 'l-1', serial: 7 } });
    const now = summarizePlan(plan, { key: KEY, state: { lineage: 'l-1', serial: 8 } });
    expect(planDifferences(reviewed, now)).toEqual(['the state changed since the review (serial 7 reviewed, 8 now): something was applied in between']);
  });

  test('the comment carries the records the deploy checks, and reads them back', () => {
    const summary = summarizePlan(rollout('sha256:new', '2026-12-05T10:00:00Z'), { key: KEY, state: { lineage: 'l-1', serial: 7 } });
    const md = render({ stack: 'wayshub-staging', summary }, { stack: 'wayshub-production', error: 'Error: boom' });
    const records = readReviewRecords(md);
    expect(Object.keys(records ?? {})).toEqual(['wayshub-staging']);
    expect(records?.['wayshub-staging']).toEqual({ commit: '9f8e7d6c5b4a39281706', ...reviewRecord(summary) });
    expect(planDifferences(records?.['wayshub-staging'] as ReviewRecord, summary)).toEqual([]);
  });
});
