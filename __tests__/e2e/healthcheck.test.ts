// The stack's default healthcheck, run in real containers: it must find an HTTP client in
// whatever image the user brings, count every answer below 500 as alive, and fail on a 500,
// on silence and on an image with no client at all.
import { execFileSync, spawnSync } from 'node:child_process';

import { defaultHealthcheck } from '../../constructs/settings';
import { describeE2E } from '../support/e2e-gate';
import { busyboxImage } from '../support/local-apply';
import { ensureAllTestImages } from '../support/test-images';

const log = (line: string) => process.stderr.write(`  [healthcheck] ${line}\n`);
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const started: string[] = [];

function start(name: string, image: string, ...command: string[]): string {
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  started.push(name);
  return docker('run', '-d', '--name', name, '--network', 'none', '--entrypoint', command[0], image, ...command.slice(1));
}

/** Runs the default healthcheck for `port` and `path` in the container, as Docker would (sh -c). */
function check(container: string, port: number, path: string, env: string[] = []): { code: number; said: string } {
  const script = defaultHealthcheck(port, path)[1];
  const result = spawnSync('docker', ['exec', ...env.flatMap((e) => ['-e', e]), container, '/bin/sh', '-c', script], { encoding: 'utf8', timeout: 15_000 });
  return { code: result.status ?? -1, said: `${result.stdout}${result.stderr}`.trim() };
}

async function waitListening(container: string, port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (check(container, port, '/').code === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${container}: nothing answered on ${port}: ${docker('logs', container)}`);
}

describeE2E('the default healthcheck works with whatever HTTP client the image has', () => {
  // A server that answers 404 on / (as wayshub-backend does), 200 on /ok and 500 on /boom.
  const SERVER = `require('http').createServer((q, s) => s.writeHead(({ '/': 404, '/ok': 200 })[q.url] ?? 500).end()).listen(8080)`;
  const ALL = 'wayshub-e2e-health-all';
  let images: Awaited<ReturnType<typeof ensureAllTestImages>>;

  beforeAll(async () => {
    images = await ensureAllTestImages(log);
    // The backend test image has curl, GNU wget, node and bash; the host's static busybox adds
    // busybox's wget (what alpine images have). Each /probe/<client> directory holds `sh` and one
    // client, so a check run with PATH=/probe/<client> sees that client alone.
    start(ALL, images.backend, 'node', '-e', SERVER);
    docker('cp', '/bin/busybox', `${ALL}:/usr/local/bin/busybox`);
    docker(
      'exec',
      ALL,
      'sh',
      '-c',
      [
        'for c in curl wget node bash; do mkdir -p /probe/$c && ln -s "$(command -v $c)" /probe/$c/$c; done',
        'mkdir -p /probe/busybox-wget /probe/none && ln -s /usr/local/bin/busybox /probe/busybox-wget/wget',
        'for d in /probe/*; do ln -s /bin/sh $d/sh; done',
      ].join(' && '),
    );
    await waitListening(ALL, 8080);
  }, 600_000);

  afterAll(() => {
    spawnSync('docker', ['rm', '-f', ...started], { stdio: 'ignore' });
  });

  test.each(['curl', 'wget', 'busybox-wget', 'node', 'bash'])('with %s alone: 200 and 404 pass, a 500 and a closed port fail', (client) => {
    const only = [`PATH=/probe/${client}`];
    expect(check(ALL, 8080, '/ok', only)).toEqual({ code: 0, said: '' });
    expect(check(ALL, 8080, '/', only)).toEqual({ code: 0, said: '' });
    const boom = check(ALL, 8080, '/boom', only);
    expect(boom.code).toBe(1);
    expect(boom.said).toContain('health: http://127.0.0.1:8080/boom answered 500');
    const closed = check(ALL, 8081, '/', only);
    expect(closed.code).toBe(1);
    expect(closed.said).toContain('health: http://127.0.0.1:8081/ answered');
  });

  test('with no client at all it fails and says what to do', () => {
    expect(check(ALL, 8080, '/', ['PATH=/probe/none'])).toEqual({ code: 1, said: 'health: no curl, wget, node or bash in the image; set a healthcheck' });
  });

  test('a query string reaches the app as written', () => {
    // /ok?x=1 is not /ok for this server: a 500 proves the query was sent.
    for (const client of ['curl', 'wget', 'node', 'bash']) expect(check(ALL, 8080, '/ok?x=1&y=2', [`PATH=/probe/${client}`]).code).toBe(1);
  });

  test('on a Debian nginx image with neither wget, curl nor node (bash only), and on a busybox image like alpine', async () => {
    const nginx = 'wayshub-e2e-health-nginx';
    start(nginx, images.nginx, 'nginx', '-g', 'daemon off;');
    expect(docker('exec', nginx, 'sh', '-c', 'for c in curl wget node; do command -v $c; done; true')).toBe('');
    await waitListening(nginx, 80);
    expect(check(nginx, 80, '/no-such-page')).toEqual({ code: 0, said: '' });

    const busybox = 'wayshub-e2e-health-busybox';
    // busybox httpd with an empty root answers 404 on /.
    start(busybox, await busyboxImage(log), 'httpd', '-f', '-p', '8080', '-h', '/srv');
    await waitListening(busybox, 8080);
    expect(check(busybox, 8080, '/')).toEqual({ code: 0, said: '' });
    expect(check(busybox, 8081, '/').code).toBe(1);
  });
});
