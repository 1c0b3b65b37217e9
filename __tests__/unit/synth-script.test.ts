// `npm run synth` against `cdktf synth`, both as the user runs them: the real npm and the real
// CLI, one after the other in a copy of the project (the same sources for both, and a cdktf.json
// that can be changed), then the two cdktf.out trees compared file by file, byte for byte.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const NOT_COPIED = new Set(['node_modules', '.git', 'cdktf.out', '.e2e-work', 'coverage']);
const copies: string[] = [];

afterAll(() => {
  for (const dir of copies) fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the project (node_modules linked), with cdktf.json changed by `cdktfJson`. */
function project(cdktfJson: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-project-'));
  copies.push(dir);
  for (const name of fs.readdirSync(ROOT)) {
    if (!NOT_COPIED.has(name)) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'cdktf.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ ...config, ...cdktfJson }, null, 2));
  return dir;
}

function run(cwd: string, command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    // A hung CLI fails the test instead of the CI job.
    timeout: 180_000,
    env: { ...process.env, CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: 'true', CI: 'true', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const cdktfSynth = (cwd: string, env?: Record<string, string>) => run(cwd, path.join(ROOT, 'node_modules', '.bin', 'cdktf'), ['synth'], env);
const npmRunSynth = (cwd: string, env?: Record<string, string>) => run(cwd, 'npm', ['run', 'synth'], env);

/** Every file under `dir` by its relative path; latin1 maps each byte to one character. */
function tree(dir: string): Record<string, string> {
  if (!fs.existsSync(dir)) return {};
  const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  return Object.fromEntries(files.sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('latin1')]));
}

/** What a synth of a stack since renamed left behind. */
function leaveOldStack(dir: string): void {
  fs.mkdirSync(path.join(dir, 'cdktf.out', 'stacks', 'wayshub-old'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'cdktf.out', 'stacks', 'wayshub-old', 'cdk.tf.json'), '{}\n');
}

describe('npm run synth', () => {
  // One project directory for both runs: the local backend's state path in cdk.tf.json is absolute.
  test('writes the same cdktf.out as cdktf synth, without the stack directory of a renamed stack', () => {
    const dir = project();
    const out = path.join(dir, 'cdktf.out');
    leaveOldStack(dir);
    expect(cdktfSynth(dir)).toMatchObject({ status: 0 });
    const byCli = tree(out);
    fs.rmSync(out, { recursive: true });
    leaveOldStack(dir);

    expect(npmRunSynth(dir)).toMatchObject({ status: 0 });

    const byNpm = tree(out);
    expect(Object.keys(byNpm)).toEqual(['manifest.json', 'stacks/wayshub/cdk.tf.json']);
    expect(byNpm).toEqual(byCli);
  });

  test("follows cdktf.json's output and context, not CDKTF_OUTDIR or CDKTF_CONTEXT_JSON left in the shell", () => {
    const dir = project({ output: 'tf.out', context: {} });
    const out = path.join(dir, 'tf.out');
    const stray = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-stray-'));
    copies.push(stray);
    // Not JSON: the app would fail on it, so both runs passing shows that cdktf.json's context won.
    const shell = { CDKTF_OUTDIR: stray, CDKTF_CONTEXT_JSON: '{not json' };
    expect(cdktfSynth(dir, shell)).toMatchObject({ status: 0 });
    const byCli = tree(out);
    fs.rmSync(out, { recursive: true });

    expect(npmRunSynth(dir, shell)).toMatchObject({ status: 0 });

    expect(Object.keys(tree(out))).toEqual(['manifest.json', 'stacks/wayshub/cdk.tf.json']);
    expect(tree(out)).toEqual(byCli);
    expect(fs.readdirSync(stray)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'cdktf.out'))).toBe(false);
  });

  test('a bad setting prints the one line of the app alone, exits non-zero and writes nothing', () => {
    const dir = project();
    const bad = { WAYSHUB_LB_METHOD: 'nope' };
    const alone = run(dir, process.execPath, ['--import', 'tsx', 'main.ts'], { ...bad, CDKTF_OUTDIR: path.join(dir, 'alone.out') });
    expect(alone.status).toBe(1);
    expect(alone.stderr).toMatch(/^wayshub: invalid proxy\.loadBalancing \(WAYSHUB_LB_METHOD\): "nope".*\n$/);

    // Nothing there yet: nothing is created.
    const first = npmRunSynth(dir, bad);
    expect(first.status).not.toBe(0);
    // Some npm versions add their own "npm error ..." lines about the failed script.
    expect(first.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm '))).toEqual([alone.stderr.trimEnd()]);
    expect(fs.existsSync(path.join(dir, 'cdktf.out'))).toBe(false);

    // An earlier cdktf.out: left exactly as it was, old stack directory included.
    expect(npmRunSynth(dir)).toMatchObject({ status: 0 });
    leaveOldStack(dir);
    const before = tree(path.join(dir, 'cdktf.out'));
    expect(npmRunSynth(dir, bad).status).not.toBe(0);
    expect(tree(path.join(dir, 'cdktf.out'))).toEqual(before);
  });
});
