// The pieces the GitHub workflows call, run here as the workflows run them: the comment is put on
// the PR once and edited afterwards, the deploy finds the plan its PR showed (both against a
// small stand-in for GitHub's REST API), the deploy key and the pinned host key are written for
// ssh, and the workflows pass actionlint while a broken one does not; and what the workflows
// promise about trust: plan credentials only on PRs, secrets per step, actions pinned.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import * as yaml from 'js-yaml';

import { PLAN_COMMENT_MARKER, renderPlanComment } from '../../review/plan-comment';
import { ReviewRecord, planDifferences, summarizePlan } from '../../review/terraform-plan';
import { planJson, replicaRollout } from '../support/plan-json';

const ROOT = path.join(__dirname, '..', '..');
const tsx = (script: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<{ status: number | null; stderr: string }>((resolve) => {
    // Asynchronous: the stand-in API below answers in this same process.
    const child: ChildProcess = spawn('node', ['--import', 'tsx', path.join(ROOT, 'scripts', script), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stderr }));
  });

describe('npm run upsert-comment', () => {
  interface Call {
    method: string;
    url: string;
    body: string;
  }
  let server: http.Server;
  let calls: Call[];
  let comments: { id: number; body: string }[];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push({ method: req.method ?? '', url: req.url ?? '', body });
        if (req.headers.authorization !== 'Bearer test-token') return res.writeHead(401).end('{"message":"Bad credentials"}');
        if (req.method === 'GET') return res.writeHead(200).end(JSON.stringify(comments));
        const id = req.method === 'POST' ? 77 : Number(/comments\/(\d+)$/.exec(req.url ?? '')?.[1]);
        return res.writeHead(req.method === 'POST' ? 201 : 200).end(JSON.stringify({ id }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    calls = [];
  });

  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-comment-')), 'comment.md');
  fs.writeFileSync(file, `${PLAN_COMMENT_MARKER}\n## Terraform plan\n`);
  const env = () => ({
    GITHUB_TOKEN: 'test-token',
    GITHUB_REPOSITORY: 'alvin/wayshub-edge',
    PR_NUMBER: '12',
    GITHUB_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });

  test('the first time it adds the comment', async () => {
    comments = [{ id: 5, body: 'LGTM' }];
    const r = await tsx('upsert-comment.ts', [file], env());
    expect(r.stderr).toContain('created the plan comment on pull request 12');
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /repos/alvin/wayshub-edge/issues/12/comments?per_page=100&page=1',
      'POST /repos/alvin/wayshub-edge/issues/12/comments',
    ]);
    expect(JSON.parse(calls[1].body)).toEqual({ body: fs.readFileSync(file, 'utf8') });
  });

  test('afterwards it edits the one with the marker, and adds none', async () => {
    comments = [
      { id: 5, body: 'LGTM' },
      { id: 9, body: `${PLAN_COMMENT_MARKER}\nold plan` },
    ];
    const r = await tsx('upsert-comment.ts', [file], env());
    expect(r.status).toBe(0);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'GET /repos/alvin/wayshub-edge/issues/12/comments?per_page=100&page=1',
      'PATCH /repos/alvin/wayshub-edge/issues/comments/9',
    ]);
  });

  test('an answer other than success fails with its status', async () => {
    const r = await tsx('upsert-comment.ts', [file], { ...env(), GITHUB_TOKEN: 'wrong' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/upsert-comment: GET .* answered 401: \{"message":"Bad credentials"\}/);
  });

  test('a comment over the limit GitHub takes is refused before anything is sent', async () => {
    const big = path.join(path.dirname(file), 'big.md');
    fs.writeFileSync(big, `${PLAN_COMMENT_MARKER}\n${'x'.repeat(70_000)}\n`);
    const r = await tsx('upsert-comment.ts', [big], env());
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'upsert-comment: the comment has 70036 characters; GitHub takes at most 65,536: write it with npm run plan-comment, which cuts it',
    );
    expect(calls).toEqual([]);
  });

  test('a text that is not a plan comment is refused, and nothing is sent', async () => {
    const other = path.join(path.dirname(file), 'other.md');
    fs.writeFileSync(other, 'hello\n');
    const r = await tsx('upsert-comment.ts', [other], env());
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('upsert-comment: the comment does not start with the plan comment marker: write it with npm run plan-comment');
    expect(calls).toEqual([]);
  });
});

describe('scripts/ssh-setup.sh', () => {
  const KNOWN = 'alvin.xyz ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

  test('writes the key (mode 600), the pinned host key and a config that trusts nothing else', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-ssh-'));
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'ssh-setup.sh')], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        SSH_PRIVATE_KEY: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----',
        SSH_KNOWN_HOSTS: KNOWN,
      },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(fs.statSync(path.join(home, '.ssh', 'wayshub_deploy')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(home, '.ssh', 'known_hosts'), 'utf8')).toBe(`${KNOWN}\n`);
    expect(fs.readFileSync(path.join(home, '.ssh', 'config'), 'utf8')).toContain('StrictHostKeyChecking yes');
    // The key is never printed.
    expect(r.stdout + r.stderr).not.toContain('abc');
  });

  test('known hosts that are not known_hosts lines are refused with one line', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'ssh-setup.sh')], {
      env: { PATH: process.env.PATH, HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-ssh-')), SSH_PRIVATE_KEY: 'k', SSH_KNOWN_HOSTS: 'alvin.xyz' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("ssh-setup: SSH_KNOWN_HOSTS holds no known_hosts line; allowed: lines like 'host ssh-ed25519 AAAA...'");
  });
});

describe('npm run lint:workflows', () => {
  test("the project's workflows pass actionlint", async () => {
    const r = await tsx('lint-workflows.ts', []);
    expect(r.stderr).toMatch(/lint:workflows: \d+ files, 0 problems/);
    expect(r.status).toBe(0);
  });

  test('the check can fail: an unknown context property is reported with its line', async () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-wf-')), 'bad.yml');
    fs.writeFileSync(bad, 'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n');
    const r = await tsx('lint-workflows.ts', [bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:6:`);
  });
});

describe('npm run reviewed-plan: the deploy finds the plan its pull request showed', () => {
  const MERGE = 'a'.repeat(40);
  const HEAD = 'b'.repeat(40);
  let server: http.Server;
  let pulls: object[];
  let comments: { id: number; body: string }[];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer test-token') return res.writeHead(401).end('{"message":"Bad credentials"}');
      if (req.url === `/repos/alvin/wayshub-edge/commits/${MERGE}/pulls`) return res.writeHead(200).end(JSON.stringify(pulls));
      if (req.url?.startsWith('/repos/alvin/wayshub-edge/issues/12/comments')) return res.writeHead(200).end(JSON.stringify(comments));
      return res.writeHead(404).end('{"message":"Not Found"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const KEY = 'review-key';
  const summary = summarizePlan(planJson(replicaRollout('app', 2, { from: 'sha256:a', to: 'sha256:b', planTime: '2026-12-05T10:00:00Z' })), {
    key: KEY,
    state: { lineage: 'l-1', serial: 4 },
  });
  const commentFor = (commit: string) => renderPlanComment([{ stack: 'wayshub-staging', summary }], { commit });
  const out = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-reviewed-')), 'reviewed.json');
  const env = () => ({
    GITHUB_TOKEN: 'test-token',
    GITHUB_REPOSITORY: 'alvin/wayshub-edge',
    GITHUB_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
  const merged = { number: 12, merged_at: '2026-12-05T10:30:00Z', merge_commit_sha: MERGE, head: { sha: HEAD } };

  test('writes the records of the comment on the merged PR, for npm run plan -- --reviewed', async () => {
    pulls = [merged];
    comments = [
      { id: 1, body: 'LGTM' },
      { id: 2, body: commentFor(HEAD) },
    ];
    const file = out();
    const r = await tsx('reviewed-plan.ts', ['--commit', MERGE, '--out', file], env());
    expect(r.stderr.trim()).toBe(`reviewed-plan: the plan reviewed on #12 (wayshub-staging) is in ${file}`);
    expect(r.status).toBe(0);
    const records = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, ReviewRecord>;
    expect(planDifferences(records['wayshub-staging'], summary)).toEqual([]);
  });

  test.each([
    [
      'a commit pushed to main without a pull request',
      () => [],
      () => commentFor(HEAD),
      `${MERGE} is not the merge of a pull request, so nobody reviewed its plan: change main through pull requests`,
    ],
    [
      'a comment for an older push than the one merged',
      () => [merged],
      () => commentFor('c'.repeat(40)),
      `the plan of wayshub-staging on #12 is for ${'c'.repeat(40)}, but ${HEAD} was merged: its last push was never planned; re-run its Plan workflow, then this deploy`,
    ],
    [
      'a comment without records (the plan failed)',
      () => [merged],
      () => renderPlanComment([{ stack: 'wayshub-staging', error: 'Error: boom' }], { commit: HEAD }),
      'the plan comment of #12 holds no reviewed plan (a plan failed, or ran without WAYSHUB_REVIEW_KEY): re-run its Plan workflow, then this deploy',
    ],
  ])('refuses %s, with one line and exit 1', async (_what, thePulls, body, line) => {
    pulls = thePulls();
    comments = [{ id: 2, body: body() }];
    const file = out();
    const r = await tsx('reviewed-plan.ts', ['--commit', MERGE, '--out', file], env());
    expect(r.stderr.trim()).toBe(`reviewed-plan: ${line}`);
    expect(r.status).toBe(1);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('the workflows: trust split, secrets per step, actions pinned', () => {
  interface Step {
    uses?: string;
    run?: string;
    env?: Record<string, string>;
    with?: Record<string, unknown>;
    if?: string;
    id?: string;
  }
  interface Job {
    env?: Record<string, string>;
    environment?: string;
    steps?: Step[];
    if?: string;
    needs?: string[];
  }
  const workflow = (name: string) =>
    yaml.load(fs.readFileSync(path.join(ROOT, '.github', 'workflows', name), 'utf8')) as { env?: object; jobs: Record<string, Job> };
  const files = fs.readdirSync(path.join(ROOT, '.github', 'workflows'));

  test.each(files)('%s: every action is pinned to a commit, and secrets reach steps only, never a job or the workflow', (file) => {
    const wf = workflow(file);
    expect(JSON.stringify(wf.env ?? {})).not.toContain('secrets.');
    for (const [name, job] of Object.entries(wf.jobs)) {
      expect([name, JSON.stringify(job.env ?? {})]).not.toEqual([name, expect.stringContaining('secrets.')]);
      for (const step of job.steps ?? []) if (step.uses && !step.uses.startsWith('./')) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    }
  });

  test('a pull request plan holds no deploy credential: no SSH key, no state-writing connection, no Docker refresh', () => {
    const text = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'plan.yml'), 'utf8');
    for (const credential of ['SSH_PRIVATE_KEY', 'secrets.PG_CONN_STR', 'ssh-setup']) expect(text).not.toContain(credential);
    const plan = workflow('plan.yml').jobs.plan;
    const step = plan.steps?.find((s) => s.id === 'plan');
    expect(step?.run).toContain('--no-refresh');
    expect(step?.env?.PG_CONN_STR).toBe('${{ secrets.PG_PLAN_CONN_STR }}');
    expect(plan.environment).toBe('plan-${{ matrix.env }}');
  });

  test('a failed plan fails the check after its artifact is kept, and the comment job runs anyway', () => {
    const wf = workflow('plan.yml');
    const steps = wf.jobs.plan.steps ?? [];
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.if).toBe('always()');
    expect(upload?.with?.['retention-days']).toBeLessThanOrEqual(7);
    expect(steps[steps.length - 1]).toMatchObject({ if: "steps.plan.outcome != 'success'", run: expect.stringContaining('exit 1') });
    expect(wf.jobs.comment.if).toContain('!cancelled()');
    expect(wf.jobs.comment.needs).toEqual(['pending', 'plan']);
  });

  test('the deploy checks the reviewed plan before it applies, with the deploy credentials given per step', () => {
    const steps = (workflow('deploy-stack.yml').jobs.run.steps ?? []).map((s) => s.run ?? s.uses ?? '');
    const at = (needle: string) => steps.findIndex((s) => s.includes(needle));
    expect(at('npm run reviewed-plan')).toBeGreaterThan(-1);
    expect(at('npm run reviewed-plan')).toBeLessThan(at('--reviewed reviewed.json'));
    expect(at('--reviewed reviewed.json')).toBeLessThan(at('npm run apply'));
  });

  test('Dependabot keeps the pins current', () => {
    const config = yaml.load(fs.readFileSync(path.join(ROOT, '.github', 'dependabot.yml'), 'utf8')) as { updates: { 'package-ecosystem': string }[] };
    expect(config.updates.map((u) => u['package-ecosystem'])).toEqual(expect.arrayContaining(['github-actions', 'npm']));
  });
});
