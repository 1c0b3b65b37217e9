// No synthesized config can fail `nginx -t` at deploy: the config of every settings combination
// of the snapshot matrix, names as long as the settings allow, the benchmark's tuning variants
// and the guide's hand-written site file, checked by the real nginx
// the proxy runs (the e2e image, 1.27.3 or newer: Debian's own nginx 1.22 has no upstream
// `resolve`), all in one container.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { NO_ACCESS_LOG, VARIANTS } from '../../bench/tuning';
import { WayshubSettingsInput } from '../../constructs/settings';
import { ACCESS_LOG_DIR, METRICS_DIR } from '../../constructs/engines/nginx-proxy';
import { NGINX_CONF_PATH } from '../../nginx/render';
import { describeE2E } from '../support/e2e-gate';
import { makeCertificate } from '../support/certificates';
import { MATRIX, removeFixtures } from '../support/settings-matrix';
import { synthStack } from '../support/synth';
import { ensureTestImages } from '../support/test-images';

const log = (line: string) => process.stderr.write(`  [nginx -t] ${line}\n`);

// The longest names the validator allows: 63-character labels, 253 characters in all.
const label = (c: string) => c.repeat(63);
const LONGEST = `${label('a')}.${label('b')}.${label('c')}.${'d'.repeat(61)}`;
const LONG_CASES: ReadonlyArray<[string, WayshubSettingsInput]> = [
  ['a domain of 47 characters (the first nginx refuses by default)', { domain: `${'a'.repeat(43)}.xyz` }],
  ['a domain of 253 characters', { domain: LONGEST }],
  ['an API name of 250 characters', { domain: `${label('a')}.${label('b')}.${label('c')}.${'d'.repeat(57)}`, backend: { image: 'b:1' } }],
  ['a wildcard alias of 251 characters', { domain: 'alvin.xyz', serverAliases: [`*.${label('b')}.${label('c')}.${label('d')}.${'e'.repeat(57)}`] }],
];

describeE2E('every synthesized nginx config passes nginx -t', () => {
  let image: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-nginx-t-'));

  beforeAll(async () => {
    image = (await ensureTestImages(log)).nginx;
  }, 600_000);

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    removeFixtures();
  });

  /** Files at their absolute paths under a directory of the test's own. */
  function writeTree(root: string, files: ReadonlyArray<{ path: string; content: string }>): void {
    for (const file of files) {
      fs.mkdirSync(path.join(root, path.dirname(file.path)), { recursive: true });
      fs.writeFileSync(path.join(root, file.path), file.content);
    }
  }

  /** A shell script in the nginx image, with a directory mounted read-only at /configs. */
  const inNginx = (mount: string, script: string) =>
    spawnSync('docker', ['run', '--rm', '-v', `${mount}:/configs:ro`, '--entrypoint', '/bin/sh', image, '-c', script], { encoding: 'utf8' });

  test("the snapshot matrix, the longest names and the benchmark's tuning variants", () => {
    expect(LONGEST).toHaveLength(253);
    // A tuning variant is the default config with one edit: the benchmark's full run loads each.
    const defaults = Object.fromEntries(synthStack({}).stack.edge.proxy.files.map((f) => [f.path, f.content]));
    const variants = [...VARIANTS.map((v) => v.edit), NO_ACCESS_LOG].map((edit) =>
      Object.entries(edit(defaults)).map(([p, content]) => ({ path: p, content })),
    );
    const cases = [...[...MATRIX, ...LONG_CASES].map(([, input]) => synthStack(input).stack.edge.proxy.files), ...variants];
    const cert = makeCertificate(dir, ['alvin.xyz']);
    cases.forEach((files, i) => {
      // With the certificate files nginx loads, at the paths the config names.
      const tlsFiles = files.flatMap((f) => [...f.content.matchAll(/ssl_certificate(?:_key)? ([^;]+);/g)].map((m) => m[1]));
      const pem = (target: string) => fs.readFileSync(target.endsWith('privkey.pem') ? cert.key : cert.cert, 'utf8');
      writeTree(path.join(dir, String(i)), [...files, ...tlsFiles.map((target) => ({ path: target, content: pem(target) }))]);
    });
    // Each config in place in turn (its paths are absolute), then nginx's verdict on it.
    const script = cases
      .map(
        (_, i) =>
          // The access log's and the metrics' volume directories, as the stack mounts them.
          `rm -rf /etc/nginx/wayshub /etc/letsencrypt && mkdir -p ${ACCESS_LOG_DIR} ${METRICS_DIR} && cp -R /configs/${i}/etc/. /etc/ && ` +
          `if out=$(nginx -t -q -c ${NGINX_CONF_PATH} 2>&1); then echo "${i} ok"; else echo "${i} FAILED: $(echo "$out" | tr '\\n' ' ')"; fi`,
      )
      .join('\n');
    fs.writeFileSync(path.join(dir, 'check.sh'), script);
    const t0 = Date.now();
    const result = inNginx(dir, 'sh /configs/check.sh');
    const lines = result.stdout.trim().split('\n');
    log(`${cases.length} configs checked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const line of lines.filter((l) => !l.endsWith(' ok'))) log(line);
    expect(result.stderr).toBe('');
    expect(lines).toEqual(cases.map((_, i) => `${i} ok`));
  });

  test("the guide's hand-written site file (both languages, the same) passes nginx -t in nginx's own main config", () => {
    const handWritten = (guide: string) => {
      const text = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', guide), 'utf8');
      const m = /<!-- hand-written: site [^>]*-->\n```nginx\n([\s\S]*?)```/.exec(text);
      if (!m) throw new Error(`${guide}: no hand-written site block`);
      return m[1];
    };
    const site = handWritten('guide.md');
    expect(handWritten('guide.id.md')).toBe(site);
    const out = path.join(dir, 'hand-written');
    writeTree(out, [{ path: '/alvin.xyz', content: site }]);
    // As the guide says: into sites-available, linked from sites-enabled, checked.
    const result = inNginx(
      out,
      'mkdir -p /etc/nginx/sites-available /etc/nginx/sites-enabled && cp /configs/alvin.xyz /etc/nginx/sites-available/ && ln -s /etc/nginx/sites-available/alvin.xyz /etc/nginx/sites-enabled/ && grep -q "sites-enabled" /etc/nginx/nginx.conf && nginx -t',
    );
    log(`hand-written site: ${result.stderr.trim().split('\n').join(' | ')}`);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('test is successful');
  });

  test('the check can fail: the longest name without its hash size is refused by nginx', () => {
    const files = synthStack({ domain: LONGEST }).stack.edge.proxy.files;
    const sites = files.find((f) => f.content.includes('server_names_hash_bucket_size'));
    expect(sites).toBeDefined();
    const stripped = path.join(dir, 'stripped');
    writeTree(
      stripped,
      files.map((file) => ({ path: file.path, content: file.content.replace(/^server_names_hash_bucket_size .*$/m, '') })),
    );
    const out = inNginx(stripped, `cp -R /configs/etc/. /etc/ && nginx -t -q -c ${NGINX_CONF_PATH}`);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain('server_names_hash_bucket_size');
  });
});
