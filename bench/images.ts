// The benchmark's own images, built without any registry and cached by their recipe:
// - tools: HAProxy, Caddy and wrk from Debian sid (the newest Debian has), with debootstrap and
//   `docker import`, like the test images;
// - static replicas: the test images' nginx serving fixed files (1 KB, 100 KB of JSON) with no access
//   log, so that behind a proxy the proxy, not the app, is the cost.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chroot, debootstrap, dockerBuild, imageLabels, importRootfs, seconds } from '../__tests__/support/test-images';
import type { Log } from '../__tests__/support/test-images';

const TAG = 'wayshub-bench/tools:sid';
const RECIPE = '2';
const RECIPE_LABEL = 'wayshub-bench.recipe';
const VERSIONS_LABEL = 'wayshub-bench.versions';
const STATIC_REPO = 'wayshub-bench/static';
const STATIC_RECIPE = '2';

/** What a static replica serves: 1 KB at `/`, and 100 KB of JSON (text that gzip can shrink). */
export const STATIC_PATHS = { small: '/', large: '/100k.json' } as const;

/** 100 KiB of JSON records, the same every time (a seeded sequence, so gzip has real work). */
export function largeJson(): string {
  const words = ['wayshub', 'video', 'channel', 'subscriber', 'comment', 'playlist', 'upload', 'title', 'description', 'thumbnail'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  const records: string[] = [];
  let size = 2;
  for (let id = 1; size < 100 * 1024 - 200; id++) {
    const text = Array.from({ length: 8 }, () => words[next() % words.length]).join(' ');
    const record = JSON.stringify({ id, views: next() % 100000, text });
    records.push(record);
    size += record.length + 1;
  }
  const body = `[${records.join(',')}]`;
  return body + ' '.repeat(100 * 1024 - body.length);
}

export interface BenchImage {
  tag: string;
  /** `haproxy 2.9.x, caddy 2.6.x, wrk 4.2.0`, as the binaries say. */
  versions: string;
}

export async function ensureBenchImage(log: Log): Promise<BenchImage> {
  const labels = await imageLabels(TAG);
  // A label value can't hold spaces through `docker import --change`: they are stored as "_".
  if (labels?.[RECIPE_LABEL] === RECIPE && labels[VERSIONS_LABEL]) return { tag: TAG, versions: labels[VERSIONS_LABEL].replace(/_/g, ' ') };
  const started = Date.now();
  log('building the benchmark image (HAProxy, Caddy, wrk) from Debian sid ...');
  const rootfs = await debootstrap('bench-tools', 'sid', ['haproxy', 'caddy', 'wrk', 'ca-certificates']);
  try {
    const version = async (args: string[], pattern: RegExp) => {
      const r = await chroot(rootfs.dir, args);
      return pattern.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
    };
    const versions = [
      `haproxy ${await version(['haproxy', '-v'], /version (\d+\.\d+\.\d+)/)}`,
      `caddy ${await version(['caddy', 'version'], /v?(\d+\.\d+\.\d+)/)}`,
      `wrk ${await version(['wrk', '-v'], /wrk (?:debian\/)?(\d+\.\d+\.\d+)/)}`,
    ].join(', ');
    await importRootfs(rootfs.dir, TAG, [`LABEL ${RECIPE_LABEL}=${RECIPE}`, `LABEL ${VERSIONS_LABEL}=${versions.replace(/ /g, '_')}`]);
    log(`benchmark image ready: ${TAG} (${versions}) in ${seconds(started)}`);
    return { tag: TAG, versions };
  } finally {
    await rootfs.cleanup();
  }
}

// The replica's whole nginx config: static files on the app port, no log, kept-alive clients.
const STATIC_NGINX_CONF = `worker_processes auto;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    types { application/json json; }
    server {
        listen 3000;
        root /srv;
        location = / { try_files /1k.bin =404; }
    }
}
`;

/** A replica image serving STATIC_PATHS on port 3000, FROM the test images' nginx. */
export async function ensureStaticImage(nginxImage: string, log: Log): Promise<string> {
  const tag = `${STATIC_REPO}:${STATIC_RECIPE}-${nginxImage.replace(/[^A-Za-z0-9_.-]/g, '_').slice(-40)}`;
  if ((await imageLabels(tag)) !== undefined) return tag;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-bench-static-'));
  try {
    fs.writeFileSync(path.join(dir, 'nginx.conf'), STATIC_NGINX_CONF);
    fs.writeFileSync(path.join(dir, '1k.bin'), Buffer.alloc(1024, 'a'));
    fs.writeFileSync(path.join(dir, '100k.json'), largeJson());
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      `FROM ${nginxImage}\nCOPY nginx.conf /etc/nginx/static.conf\nCOPY 1k.bin 100k.json /srv/\nCMD ["nginx", "-c", "/etc/nginx/static.conf", "-g", "daemon off;"]\n`,
    );
    log(`building the static replica image ${tag} ...`);
    const r = await dockerBuild(path.join(dir, 'Dockerfile'), dir, tag);
    if (r.code !== 0) throw new Error(`docker build of ${tag} failed:\n${r.stdout}${r.stderr}`);
    return tag;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
