// `cdktf synth` as the user runs it: the real CLI, the real app command from cdktf.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TerraformJson } from '../support/synth';

const ROOT = path.resolve(__dirname, '..', '..');

function synth(env: Record<string, string>): { status: number | null; stderr: string; out: string } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-synth-'));
  fs.rmSync(out, { recursive: true });
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdktf'), ['synth', '--output', out], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: 'true', CI: 'true', ...env },
  });
  return { status: result.status, stderr: `${result.stdout}\n${result.stderr}`, out };
}

describe('cdktf synth', () => {
  test('writes the wayshub stack for the default settings', () => {
    const { status, out } = synth({});
    expect(status).toBe(0);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'wayshub', 'cdk.tf.json'), 'utf8')) as TerraformJson;
    expect(json.output.url.value).toBe('http://wayshub.localhost/');
  });

  test('a bad setting exits non-zero with one line naming it, and writes no stack', () => {
    const { status, stderr, out } = synth({ WAYSHUB_DOMAIN: 'alvin.xyz; return 200' });
    expect(status).not.toBe(0);
    const line =
      'wayshub: invalid domain (WAYSHUB_DOMAIN): "alvin.xyz; return 200"; it contains ";"; allowed: dot-separated labels of a-z, 0-9 and "-", e.g. alvin.xyz';
    expect(stderr).toContain(line);
    expect(fs.existsSync(path.join(out, 'stacks', 'wayshub', 'cdk.tf.json'))).toBe(false);
  });

  test('the app alone prints exactly that one line on stderr', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-app-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, WAYSHUB_NGINX_IMAGE: 'nginx:1.25-alpine', CDKTF_OUTDIR: outdir },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'wayshub: invalid proxy.image (WAYSHUB_NGINX_IMAGE): "nginx:1.25-alpine"; nginx 1.27.3 or newer is needed (upstream "resolve"), e.g. nginx:1.30-alpine\n',
    );
    expect(fs.readdirSync(outdir)).toEqual([]);
  });
});
