// Shared state in PostgreSQL (WAYSHUB_STATE=pg) for two environments of one app, on a real
// PostgreSQL server (scripts/postgres-up.sh) with Terraform's own pg backend: each stack's state
// in its own schema, Terraform's lock between two applies of one stack, the connection
// string's password nowhere in what is written, a pull request's plan role that can't write, and
// a deploy that applies only the plan its pull request showed.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { readReviewRecords } from '../../review/plan-comment';
import { describeE2E, testPgConnStr } from '../support/e2e-gate';
import { freePort, request, waitFor } from '../support/http';
import { LocalApply, rewriteForTerraformData } from '../support/local-apply';
import { Deployment } from '../support/deploy';
import { synthDeployments } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const log = (line: string) => process.stderr.write(`  [state-pg] ${line}\n`);
// Always the local apply, even where the real provider is configured: these tests run Terraform
// themselves on the work dirs the local apply writes (main.tf.json with terraform_data, the pg
// backend's schemas and lock) and `npm run plan` there; what they prove is Terraform's pg backend
// and our plan scripts, which do not depend on the docker provider.
const deployStack = (stackDir: string, opts: Parameters<typeof LocalApply.fromStackDir>[1]): Promise<Deployment> => LocalApply.fromStackDir(stackDir, opts);
const STACKS = ['e2epg-staging', 'e2epg-production'];
const ROOT = path.join(__dirname, '..', '..');
const schemaOf = (stack: string) => stack.replace(/-/g, '_');

function psql(sql: string): string {
  const r = spawnSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', testPgConnStr(), '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Every file under dir, as text (binary files too: a secret in one still shows). */
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out[path.join(entry.parentPath, entry.name)] = fs.readFileSync(path.join(entry.parentPath, entry.name), 'latin1');
  }
  return out;
}

describeE2E(
  'state in PostgreSQL: two environments, locking, no password written',
  () => {
    const conn = testPgConnStr();
    const password = decodeURIComponent(new URL(conn).password);
    const terraformEnv = { PG_CONN_STR: conn };
    const dirs: Record<string, string> = {};
    const work: Record<string, string> = {};
    const deployments: Deployment[] = [];
    const ports: Record<string, number> = {};

    beforeAll(async () => {
      const images = await ensureTestImages(log);
      for (const stack of STACKS) psql(`DROP SCHEMA IF EXISTS ${schemaOf(stack)} CASCADE`);
      for (const stack of STACKS) ports[stack] = await freePort();
      const settings = (stack: string, domain: string) => ({
        name: stack,
        domain,
        app: { image: images.app, port: 3000 },
        proxy: { image: images.nginx, httpPort: ports[stack] },
      });
      Object.assign(
        dirs,
        synthDeployments(
          [
            { env: 'staging', settings: { ...settings('e2epg-staging', 'staging.wayshub.localhost'), replicas: 1 } },
            { env: 'production', settings: { ...settings('e2epg-production', 'wayshub.localhost'), replicas: 2 } },
          ],
          { WAYSHUB_STATE: 'pg', PG_CONN_STR: conn },
        ),
      );
      for (const stack of STACKS) {
        work[stack] = fs.mkdtempSync(path.join(os.tmpdir(), `${stack}-`));
        const deployment = await deployStack(dirs[stack], { workDir: work[stack], log, terraformEnv });
        deployments.push(deployment);
        await deployment.apply();
      }
    }, 600_000);

    afterAll(async () => {
      for (const d of deployments) await d.destroy({ volumes: true }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
      for (const stack of [...STACKS, 'e2epg-moved']) psql(`DROP SCHEMA IF EXISTS ${schemaOf(stack)} CASCADE`);
    });

    test("each stack's state is in its own schema, and holds that stack's resources only", async () => {
      for (const [stack, other] of [STACKS, [...STACKS].reverse()]) {
        const state = psql(`SELECT data FROM ${schemaOf(stack)}.states WHERE name = 'default'`);
        expect(state).toContain(`${stack}-proxy`);
        expect(state).not.toContain(`${other}-proxy`);
        // The state is the one the engine runs: the site answers on its own port.
        await waitFor(
          `${stack} to answer`,
          20_000,
          async () => (await request(ports[stack], { host: stack === STACKS[0] ? 'staging.wayshub.localhost' : 'wayshub.localhost' })).status === 200,
        );
      }
      expect(fs.existsSync(path.join(work[STACKS[0]], 'terraform.tfstate'))).toBe(false);
    });

    test('local state moves into PostgreSQL with terraform init -migrate-state, and the next deploy changes nothing', async () => {
      const stack = 'e2epg-moved';
      psql(`DROP SCHEMA IF EXISTS ${schemaOf(stack)} CASCADE`);
      const images = await ensureTestImages(log);
      const port = await freePort();
      const declared = [
        {
          settings: {
            name: stack,
            domain: 'moved.wayshub.localhost',
            replicas: 1,
            app: { image: images.app, port: 3000 },
            proxy: { image: images.nginx, httpPort: port },
          },
        },
      ];
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${stack}-`));
      const local = await deployStack(synthDeployments(declared, {})[stack], { workDir, log });
      deployments.push(local);
      const first = await local.apply();
      expect(fs.existsSync(path.join(workDir, 'terraform.tfstate'))).toBe(true);

      // Now with WAYSHUB_STATE=pg: the config names the pg backend, and Terraform copies the state over.
      const pgDir = synthDeployments(declared, { WAYSHUB_STATE: 'pg' })[stack];
      fs.writeFileSync(
        path.join(workDir, 'main.tf.json'),
        JSON.stringify(rewriteForTerraformData(JSON.parse(fs.readFileSync(path.join(pgDir, 'cdk.tf.json'), 'utf8')) as object)),
      );
      const env = { ...process.env, ...terraformEnv, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
      const migrated = spawnSync('terraform', ['init', '-input=false', '-no-color', '-migrate-state', '-force-copy'], { cwd: workDir, env, encoding: 'utf8' });
      log(`terraform init -migrate-state: exit ${migrated.status}; ${migrated.stdout.split('\n').find((l) => /copied|Successfully/.test(l)) ?? ''}`);
      expect(migrated.status).toBe(0);
      expect(psql(`SELECT data FROM ${schemaOf(stack)}.states WHERE name = 'default'`)).toContain(`${stack}-proxy`);

      const moved = await deployStack(pgDir, { workDir, log, terraformEnv });
      // The same deployment (one work dir): it replaces the local one for the clean-up.
      deployments[deployments.indexOf(local)] = moved;
      const again = await moved.apply();
      for (const [name, ref] of first.containers) expect(again.containers.get(name)?.id).toBe(ref.id);
    });

    test("a second apply of a stack while one runs fails with Terraform's lock message; with -lock-timeout it waits, then succeeds", async () => {
      // The staging stack as the local apply gave it to Terraform, plus a resource that takes 8 s
      // to create, so that one apply holds the lock long enough.
      const config = JSON.parse(fs.readFileSync(path.join(work[STACKS[0]], 'main.tf.json'), 'utf8')) as { resource: Record<string, Record<string, unknown>> };
      config.resource.terraform_data.slow = { triggers_replace: '${timestamp()}', provisioner: [{ 'local-exec': { command: 'sleep 8' } }] };
      const copies = [0, 1].map(() => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2epg-lock-'));
        fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(config));
        return dir;
      });
      const env = { ...process.env, ...terraformEnv, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
      const terraform = (dir: string, ...args: string[]) => spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });
      for (const dir of copies) expect(terraform(dir, 'init', '-input=false', '-no-color').status).toBe(0);

      const first = spawn('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: copies[0], env });
      let firstOut = '';
      first.stdout.on('data', (c: Buffer) => (firstOut += c.toString()));
      const firstDone = new Promise<number>((resolve) => first.on('close', (code) => resolve(code ?? -1)));
      await waitFor('the first apply to be creating the slow resource', 30_000, () => firstOut.includes('terraform_data.slow: Creating'));

      const refused = terraform(copies[1], 'apply', '-auto-approve', '-input=false', '-no-color', '-lock-timeout=0s');
      log(`second apply, no lock timeout: exit ${refused.status}; ${refused.stderr.split('\n').find((l) => l.includes('Error')) ?? ''}`);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('Error acquiring the state lock');

      const t0 = Date.now();
      const waited = terraform(copies[1], 'apply', '-auto-approve', '-input=false', '-no-color', '-lock-timeout=60s');
      const seconds = (Date.now() - t0) / 1000;
      log(`second apply with -lock-timeout=60s: exit ${waited.status} after ${seconds.toFixed(1)} s`);
      expect(await firstDone).toBe(0);
      expect(waited.status).toBe(0);
      expect(seconds).toBeGreaterThan(2);
      for (const dir of copies) fs.rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    test('the password of PG_CONN_STR is in no cdk.tf.json, no .terraform/, no saved plan and no plan comment', () => {
      expect(password.length).toBeGreaterThan(8);
      const written: Record<string, string> = {};
      for (const stack of STACKS) {
        Object.assign(written, filesUnder(dirs[stack]), filesUnder(path.join(work[stack], '.terraform')));
      }
      // The pull request's steps, as the workflow runs them: npm run plan (a saved plan, its JSON
      // and text), then npm run plan-comment. Here on the stack as the local apply gave it to
      // Terraform (the docker provider can't be downloaded here), with its state in PostgreSQL.
      const env = { ...process.env, PG_CONN_STR: conn, TF_VAR_replicas: '3', CHECKPOINT_DISABLE: '1' };
      const npm = (...args: string[]) => spawnSync('npm', ['run', '-s', ...args], { cwd: ROOT, env, encoding: 'utf8' });
      const planned = npm('plan', '--', '--lock-timeout', '30s', work[STACKS[1]]);
      expect(planned.stderr).toContain(`plan: ${path.basename(work[STACKS[1]])}: planned`);
      expect(planned.status).toBe(0);
      for (const file of ['plan.tfplan', 'plan.json', 'plan.txt']) written[file] = fs.readFileSync(path.join(work[STACKS[1]], file), 'latin1');
      const comment = npm('plan-comment', '--', work[STACKS[1]]).stdout;
      written['the plan comment'] = comment;
      for (const file of ['plan.tfplan', 'plan.json', 'plan.txt']) fs.rmSync(path.join(work[STACKS[1]], file));
      log(`looked for the password in ${Object.keys(written).length} files; the comment says: ${comment.split('\n')[3]}`);
      // One more replica of the production app.
      expect(comment).toMatch(/1 to add, \d+ to change, 0 to replace, 0 to destroy/);
      expect(
        Object.entries(written)
          .filter(([, text]) => text.includes(password))
          .map(([file]) => file),
      ).toEqual([]);
      // As a check that the search can find it: the connection string itself has it.
      expect(conn.includes(password)).toBe(true);
    });

    test("a pull request's plan role reads the state and takes the lock, and can't write the state or read another environment's", () => {
      const dir = work[STACKS[1]];
      const schema = schemaOf(STACKS[1]);
      const role = 'e2epg_plan_production';
      const rolePassword = crypto.randomBytes(18).toString('hex');
      // As the README says: the state's owner makes the role, with the script the README names.
      const made = spawnSync(
        'psql',
        [
          '-X',
          '-q',
          '-d',
          conn,
          '-v',
          `schema=${schema}`,
          '-v',
          `role=${role}`,
          '-v',
          `password=${rolePassword}`,
          '-f',
          path.join(ROOT, 'scripts', 'pg-plan-role.sql'),
        ],
        { encoding: 'utf8' },
      );
      expect(made.stderr).toBe('');
      expect(made.status).toBe(0);
      const planConn = new URL(conn);
      planConn.username = role;
      planConn.password = rolePassword;
      const env = {
        ...process.env,
        PG_CONN_STR: planConn.toString(),
        PG_SKIP_SCHEMA_CREATION: 'true',
        PG_SKIP_TABLE_CREATION: 'true',
        PG_SKIP_INDEX_CREATION: 'true',
        WAYSHUB_REVIEW_KEY: 'e2e-review-key',
        TF_VAR_replicas: '3',
      };
      const stateOf = (s: string) => psql(`SELECT md5(data) FROM ${schemaOf(s)}.states WHERE name = 'default'`);
      const before = { production: stateOf(STACKS[1]), staging: stateOf(STACKS[0]) };
      try {
        // What the pull request's job runs: a plan, with Terraform's lock, and no Docker credentials.
        const planned = spawnSync('npm', ['run', '-s', 'plan', '--', '--no-refresh', '--lock-timeout', '30s', dir], { cwd: ROOT, env, encoding: 'utf8' });
        expect(planned.stderr).toMatch(/planned against state serial \d+, with a keyed hash of each change/);
        expect(planned.status).toBe(0);
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'plan.summary.json'), 'utf8'))).toMatchObject({ refreshed: false, counts: { create: 1 } });

        // What unreviewed code could try with the same credentials: each is refused by PostgreSQL.
        const terraform = (...args: string[]) => spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });
        const applied = terraform('apply', '-no-color', '-input=false', 'plan.tfplan');
        const pulled = terraform('state', 'pull');
        const statePath = path.join(dir, 'pulled.tfstate');
        fs.writeFileSync(
          statePath,
          pulled.stdout.replace(/"serial": (\d+)/, (_m, n: string) => `"serial": ${Number(n) + 1}`),
        );
        const pushed = terraform('state', 'push', '-force', statePath);
        const asPlanRole = (sql: string) => spawnSync('psql', ['-X', '-q', '-tA', '-d', planConn.toString(), '-c', sql], { encoding: 'utf8' });
        const deleted = asPlanRole(`DELETE FROM ${schema}.states`);
        const other = asPlanRole(`SELECT data FROM ${schemaOf(STACKS[0])}.states`);
        log(
          `plan role: apply exit ${applied.status} (${/permission denied[^\n]*/.exec(applied.stdout + applied.stderr)?.[0] ?? '?'}); state push exit ${pushed.status}; ` +
            `DELETE: ${deleted.stderr.trim()}; staging's state: ${other.stderr.trim()}`,
        );
        expect(applied.status).not.toBe(0);
        expect(applied.stdout + applied.stderr).toContain('permission denied for table states');
        expect(pulled.status).toBe(0);
        expect(pushed.status).not.toBe(0);
        expect(deleted.stderr).toContain('permission denied for table states');
        expect(other.stderr).toContain(`permission denied for schema ${schemaOf(STACKS[0])}`);
        expect({ production: stateOf(STACKS[1]), staging: stateOf(STACKS[0]) }).toEqual(before);
      } finally {
        // Terraform keeps the state it could not write next to the config: it holds secrets.
        for (const f of ['errored.tfstate', 'pulled.tfstate']) fs.rmSync(path.join(dir, f), { force: true });
        psql(
          `REVOKE ALL ON ${schema}.states FROM ${role}; REVOKE USAGE ON SCHEMA ${schema} FROM ${role}; REVOKE CONNECT ON DATABASE ${new URL(conn).pathname.slice(1)} FROM ${role}; DROP ROLE ${role}`,
        );
      }
    });

    test('a deploy applies exactly the plan its pull request showed: another plan is refused, and so is a second PR planned against the same old state', () => {
      const dir = work[STACKS[1]];
      const env = (replicas: string) => ({ ...process.env, PG_CONN_STR: conn, TF_VAR_replicas: replicas, WAYSHUB_REVIEW_KEY: 'e2e-review-key' });
      const npm = (replicas: string, ...args: string[]) => spawnSync('npm', ['run', '-s', ...args], { cwd: ROOT, env: env(replicas), encoding: 'utf8' });
      // Two pull requests, each planned against the state as it is now; what reaches the deploy
      // is what their comments carry (npm run reviewed-plan reads it back from GitHub).
      const review = (commit: string): string => {
        expect(npm('3', 'plan', '--', '--no-refresh', dir).status).toBe(0);
        const comment = npm('3', 'plan-comment', '--', '--commit', commit, dir).stdout;
        expect(comment).not.toContain(password);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'e2epg-reviewed-')), 'reviewed.json');
        fs.writeFileSync(file, JSON.stringify(readReviewRecords(comment)));
        return file;
      };
      const first = review('1111111111111111111111111111111111111111');
      const second = review('2222222222222222222222222222222222222222');

      // Someone changed the inputs between review and deploy: 4 replicas, not 3.
      const other = npm('4', 'plan', '--', '--reviewed', first, dir);
      log(
        `a plan other than the reviewed one: exit ${other.status}; ${other.stderr
          .split('\n')
          .filter((l) => l.startsWith('  '))
          .join(' | ')}`,
      );
      expect(other.status).toBe(1);
      expect(other.stderr).toContain('the plan differs from the one reviewed, so it is not applied');
      // (The harness's Terraform sees each container as its terraform_data copy.)
      expect(other.stderr).toMatch(/planned now, not reviewed: create terraform_data\.docker_container__app\[3\]/);

      // The first PR's deploy: the same plan, so it applies.
      const same = npm('3', 'plan', '--', '--reviewed', first, dir);
      expect(same.stderr).not.toContain('differs');
      expect(same.status).toBe(0);
      const applied = npm('3', 'apply', '--', dir);
      expect(applied.status).toBe(0);
      expect(applied.stderr).toMatch(/Apply complete! Resources: 1 added/);
      expect(psql(`SELECT data FROM ${schemaOf(STACKS[1])}.states WHERE name = 'default'`)).toContain(`"index_key": 2`);

      // The second PR was reviewed against the state before that apply: refused, with why.
      const stale = npm('3', 'plan', '--', '--reviewed', second, dir);
      log(`the second PR's deploy: exit ${stale.status}; ${stale.stderr.split('\n').find((l) => l.includes('state changed')) ?? ''}`);
      expect(stale.status).toBe(1);
      expect(stale.stderr).toMatch(/the state changed since the review \(serial (\d+) reviewed, (\d+) now\): something was applied in between/);
    });
  },
  { postgres: true },
);
