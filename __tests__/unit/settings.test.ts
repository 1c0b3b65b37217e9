import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  DEFAULTS,
  SettingsError,
  WayshubSettingsInput,
  parseLoadBalancing,
  resolveSettings,
  taggedNginxVersion,
  withEnvironment,
} from '../../constructs/settings';

const DOMAIN_ALLOWED = 'allowed: dot-separated labels of a-z, 0-9 and "-", e.g. alvin.xyz';
const ALIAS_ALLOWED = `${DOMAIN_ALLOWED} or *.alvin.xyz`;
const PORT_ALLOWED = 'allowed: a whole number from 1 to 65535';
const IMAGE_ALLOWED = 'allowed: an image reference like nginx:1.30-alpine, registry.example.com/team/app:1.2 or name@sha256:<digest>';

describe('a user who sets nothing', () => {
  test("gets wayshub.localhost, 3 replicas of the demo app on port 3000 (the proxy's nginx image, nothing to build), nginx 1.30 on port 80", () => {
    const s = resolveSettings();
    expect(s.domain).toBe('wayshub.localhost');
    expect(s.replicas).toBe(3);
    expect(s.app).toMatchObject({ image: 'nginx:1.30-alpine', port: 3000, env: {} });
    expect(s.app.command?.[2]).toContain('listen 3000;');
    // With a build context, the built image's tag is wayshub-frontend:latest as before.
    expect(resolveSettings({ app: { image: 'wayshub-frontend:1' } }).app.command).toBeUndefined();
    expect(s.app.buildContext).toBeUndefined();
    expect(s.proxy).toMatchObject({
      image: 'nginx:1.30-alpine',
      httpPort: 80,
      loadBalancing: { method: 'round_robin' },
      maxBodySize: '10m',
    });
    expect(s.dockerHost).toBe('unix:///var/run/docker.sock');
  });

  test('gets a healthcheck that GETs / on the app port with whichever of curl, wget, node or bash the image has', () => {
    const [kind, script] = resolveSettings({ app: { port: 5000 } }).app.healthcheck;
    expect(kind).toBe('CMD-SHELL');
    expect(script).toContain("u='http://127.0.0.1:5000/'");
    for (const client of ['curl', 'wget', 'node', 'bash']) expect(script).toContain(`command -v ${client} >/dev/null; then`);
    expect(script).toContain('/dev/tcp/127.0.0.1/5000');
    // Any answer below 500 is alive: wayshub-backend answers 404 on /.
    expect(script).toContain('case $c in [1-4][0-9][0-9]) exit 0;; esac');
    expect(resolveSettings({}).app.healthPath).toBe('/');
  });
});

describe('health path', () => {
  test('the app and the backend each take a path for the default healthcheck, from main.ts or the environment', () => {
    const s = resolveSettings(
      withEnvironment(
        { app: { healthPath: '/ping' } },
        { WAYSHUB_BACKEND_IMAGE: 'be:1', WAYSHUB_BACKEND_HEALTH_PATH: '/api/v1/health?deep=1&db=no', WAYSHUB_APP_PORT: '80' },
      ),
    );
    expect(s.app.healthPath).toBe('/ping');
    expect(s.app.healthcheck[1]).toContain("u='http://127.0.0.1:80/ping'; p='/ping'");
    expect(s.backend?.healthcheck[1]).toContain("u='http://127.0.0.1:5000/api/v1/health?deep=1&db=no'");
    expect(resolveSettings(withEnvironment({}, { WAYSHUB_APP_HEALTH_PATH: '/healthz' })).app.healthPath).toBe('/healthz');
  });

  // The path is written into a shell command inside single quotes.
  test.each(["/'; reboot; '", '/$(id)', '/`id`', '/a b', 'health', '/a"b', '/%{x}', '/a\\b', `/${'a'.repeat(200)}`])('%j is refused with one line', (path) => {
    expect(() => resolveSettings({ app: { healthPath: path } })).toThrow(
      new RegExp(`^invalid app\\.healthPath \\(WAYSHUB_APP_HEALTH_PATH\\): .*; allowed: a path starting with "/"`),
    );
  });

  test('a path together with a healthcheck of your own is refused: the path would be ignored', () => {
    expect(() => resolveSettings({ backend: { image: 'be:1', healthPath: '/h', healthcheck: ['CMD', 'true'] } })).toThrow(
      'invalid backend.healthPath (WAYSHUB_BACKEND_HEALTH_PATH): "/h"; it is used only by the default healthcheck, and backend.healthcheck is set; allowed: one of the two',
    );
  });
});

describe('environment overrides', () => {
  test('apply on top of main.ts, lower-case the domain and split the alias list', () => {
    const input = withEnvironment(
      { domain: 'ignored.example', replicas: 4 },
      {
        WAYSHUB_DOMAIN: 'Alvin.XYZ',
        WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz, *.alvin.xyz',
        WAYSHUB_APP_IMAGE: 'registry.example.com:5000/team/wayshub:1.2',
        WAYSHUB_APP_PORT: '5000',
        WAYSHUB_LB_METHOD: 'hash:$remote_addr:consistent',
        WAYSHUB_HTTP_PORT: '8080',
        WAYSHUB_NGINX_IMAGE: 'nginx:1.27.3',
        WAYSHUB_MAX_BODY_SIZE: '50M',
        DOCKER_HOST: 'ssh://deploy@203.0.113.7',
      },
    );
    const s = resolveSettings(input);
    expect(s.domain).toBe('alvin.xyz');
    expect(s.serverAliases).toEqual(['www.alvin.xyz', '*.alvin.xyz']);
    expect(s.replicas).toBe(4);
    expect(s.app.image).toBe('registry.example.com:5000/team/wayshub:1.2');
    expect(s.app.port).toBe(5000);
    expect(s.proxy.loadBalancing).toEqual({ method: 'hash', key: '$remote_addr', consistent: true });
    expect(s.proxy.httpPort).toBe(8080);
    expect(s.proxy.image).toBe('nginx:1.27.3');
    expect(s.proxy.maxBodySize).toBe('50m');
    expect(s.dockerHost).toBe('ssh://deploy@203.0.113.7');
  });

  test('empty variables count as unset', () => {
    const s = resolveSettings(withEnvironment({}, { WAYSHUB_DOMAIN: '', WAYSHUB_HTTP_PORT: '  ' }));
    expect(s.domain).toBe(DEFAULTS.domain);
    expect(s.proxy.httpPort).toBe(80);
  });

  test('a build context is made absolute and must hold a Dockerfile', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctx-'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    const relative = path.relative(process.cwd(), dir);
    const s = resolveSettings(withEnvironment({}, { WAYSHUB_APP_BUILD_CONTEXT: relative }));
    expect(s.app.buildContext).toBe(dir);
    expect(path.isAbsolute(s.app.buildContext ?? '')).toBe(true);
  });

  test('every load-balancing method has a WAYSHUB_LB_METHOD spelling', () => {
    expect(parseLoadBalancing('round_robin')).toEqual({ method: 'round_robin' });
    expect(parseLoadBalancing('least_conn')).toEqual({ method: 'least_conn' });
    expect(parseLoadBalancing('ip_hash')).toEqual({ method: 'ip_hash' });
    expect(parseLoadBalancing('random_two_least_conn')).toEqual({ method: 'random_two_least_conn' });
    expect(parseLoadBalancing('hash:$request_uri')).toEqual({ method: 'hash', key: '$request_uri', consistent: false });
  });
});

describe('the nginx version a tag states', () => {
  test.each([
    ['nginx:1.30-alpine', [1, 30, Infinity]],
    ['nginx:1.27.3', [1, 27, 3]],
    ['registry:5000/nginx:1.26.2-bookworm', [1, 26, 2]],
    ['nginx', undefined],
    ['nginx:alpine', undefined],
    ['nginx:mainline', undefined],
    ['localhost:5000/nginx', undefined],
  ])('%s → %j', (ref, version) => {
    expect(taggedNginxVersion(ref)).toEqual(version);
  });

  test.each(['nginx:1.27', 'nginx:1.27.3', 'nginx:1.28.0-alpine', 'nginx:2', 'nginx:stable-alpine', 'wayshub-e2e/nginx:1.30.0-debian'])(
    '%s is accepted',
    (image) => {
      expect(resolveSettings({ proxy: { image } }).proxy.image).toBe(image);
    },
  );
});

// Each bad value, and the exact one line the user sees.
const BAD: Array<[string, WayshubSettingsInput | (() => WayshubSettingsInput), string]> = [
  ['domain with a space', { domain: 'alvin .xyz' }, `invalid domain (WAYSHUB_DOMAIN): "alvin .xyz"; it contains " "; ${DOMAIN_ALLOWED}`],
  ['domain with ;', { domain: 'alvin.xyz;evil' }, `invalid domain (WAYSHUB_DOMAIN): "alvin.xyz;evil"; it contains ";"; ${DOMAIN_ALLOWED}`],
  ['domain with {', { domain: 'alvin{.xyz' }, `invalid domain (WAYSHUB_DOMAIN): "alvin{.xyz"; it contains "{"; ${DOMAIN_ALLOWED}`],
  ['domain with }', { domain: 'alvin}.xyz' }, `invalid domain (WAYSHUB_DOMAIN): "alvin}.xyz"; it contains "}"; ${DOMAIN_ALLOWED}`],
  ['domain with a quote', { domain: 'alvin".xyz' }, `invalid domain (WAYSHUB_DOMAIN): "alvin\\".xyz"; it contains "\\""; ${DOMAIN_ALLOWED}`],
  ['domain with a single quote', { domain: "alvin'.xyz" }, `invalid domain (WAYSHUB_DOMAIN): "alvin'.xyz"; it contains "'"; ${DOMAIN_ALLOWED}`],
  [
    'domain with a newline',
    { domain: 'alvin.xyz\nreturn 200' },
    `invalid domain (WAYSHUB_DOMAIN): "alvin.xyz\\nreturn 200"; it contains "\\n"; ${DOMAIN_ALLOWED}`,
  ],
  ['domain with $', { domain: '$host.xyz' }, `invalid domain (WAYSHUB_DOMAIN): "$host.xyz"; it contains "$"; ${DOMAIN_ALLOWED}`],
  [
    'domain with a wildcard',
    { domain: '*.alvin.xyz' },
    `invalid domain (WAYSHUB_DOMAIN): "*.alvin.xyz"; a wildcard "*." is allowed only in serverAliases (WAYSHUB_SERVER_ALIASES); ${DOMAIN_ALLOWED}`,
  ],
  [
    'alias with * inside',
    { serverAliases: ['www.*.alvin.xyz'] },
    `invalid serverAliases (WAYSHUB_SERVER_ALIASES): "www.*.alvin.xyz"; "*" is allowed only as the whole first label, as in *.alvin.xyz; ${ALIAS_ALLOWED}`,
  ],
  [
    'alias with a partial wildcard',
    { serverAliases: ['w*.alvin.xyz'] },
    `invalid serverAliases (WAYSHUB_SERVER_ALIASES): "w*.alvin.xyz"; "*" is allowed only as the whole first label, as in *.alvin.xyz; ${ALIAS_ALLOWED}`,
  ],
  ['domain with an empty label', { domain: 'alvin..xyz' }, `invalid domain (WAYSHUB_DOMAIN): "alvin..xyz"; it has an empty label; ${DOMAIN_ALLOWED}`],
  ['domain with a trailing dot', { domain: 'alvin.xyz.' }, `invalid domain (WAYSHUB_DOMAIN): "alvin.xyz."; it has an empty label; ${DOMAIN_ALLOWED}`],
  ['empty domain', { domain: '' }, `invalid domain (WAYSHUB_DOMAIN): ""; the name is empty; ${DOMAIN_ALLOWED}`],
  [
    'label of 64 characters',
    { domain: `${'a'.repeat(64)}.xyz` },
    `invalid domain (WAYSHUB_DOMAIN): "${'a'.repeat(64)}.xyz"; the label "aaaaaaaaaaaaaaaaaaaa..." is 64 characters long, more than 63; ${DOMAIN_ALLOWED}`,
  ],
  [
    'name of 254 characters',
    { domain: `${'a.'.repeat(126)}xy` },
    `invalid domain (WAYSHUB_DOMAIN): "${'a.'.repeat(38)}...; the name is 254 characters long, more than 253; ${DOMAIN_ALLOWED}`,
  ],
  [
    'label starting with -',
    { domain: '-alvin.xyz' },
    `invalid domain (WAYSHUB_DOMAIN): "-alvin.xyz"; the label "-alvin" starts or ends with "-"; ${DOMAIN_ALLOWED}`,
  ],
  [
    'empty alias in the list',
    () => withEnvironment({}, { WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz,,api.alvin.xyz' }),
    `invalid serverAliases (WAYSHUB_SERVER_ALIASES): ""; the name is empty; ${ALIAS_ALLOWED}`,
  ],
  ['0 replicas', { replicas: 0 }, 'invalid replicas: 0; allowed: a whole number from 1 to 20'],
  ['21 replicas', { replicas: 21 }, 'invalid replicas: 21; allowed: a whole number from 1 to 20'],
  ['2.5 replicas', { replicas: 2.5 }, 'invalid replicas: 2.5; allowed: a whole number from 1 to 20'],
  ['app port 0', { app: { port: 0 } }, `invalid app.port (WAYSHUB_APP_PORT): 0; ${PORT_ALLOWED}`],
  [
    'app port 65536 from the environment',
    () => withEnvironment({}, { WAYSHUB_APP_PORT: '65536' }),
    `invalid app.port (WAYSHUB_APP_PORT): 65536; ${PORT_ALLOWED}`,
  ],
  ['app port that is not a number', () => withEnvironment({}, { WAYSHUB_APP_PORT: '3000;' }), `invalid app.port (WAYSHUB_APP_PORT): "3000;"; ${PORT_ALLOWED}`],
  ['http port 70000', { proxy: { httpPort: 70000 } }, `invalid proxy.httpPort (WAYSHUB_HTTP_PORT): 70000; ${PORT_ALLOWED}`],
  [
    'http port -1 from the environment',
    () => withEnvironment({}, { WAYSHUB_HTTP_PORT: '-1' }),
    `invalid proxy.httpPort (WAYSHUB_HTTP_PORT): "-1"; ${PORT_ALLOWED}`,
  ],
  ['empty app image', { app: { image: '' } }, `invalid app.image (WAYSHUB_APP_IMAGE): ""; ${IMAGE_ALLOWED}`],
  ['app image with upper case', { app: { image: 'Wayshub:latest' } }, `invalid app.image (WAYSHUB_APP_IMAGE): "Wayshub:latest"; ${IMAGE_ALLOWED}`],
  ['app image with a space', { app: { image: 'wayshub frontend' } }, `invalid app.image (WAYSHUB_APP_IMAGE): "wayshub frontend"; ${IMAGE_ALLOWED}`],
  ['app image with a Terraform interpolation', { app: { image: 'app:${var.x}' } }, `invalid app.image (WAYSHUB_APP_IMAGE): "app:\${var.x}"; ${IMAGE_ALLOWED}`],
  ['nginx image with two tags', { proxy: { image: 'nginx:1.30:alpine' } }, `invalid proxy.image (WAYSHUB_NGINX_IMAGE): "nginx:1.30:alpine"; ${IMAGE_ALLOWED}`],
  [
    'nginx 1.27.2',
    { proxy: { image: 'nginx:1.27.2-alpine' } },
    'invalid proxy.image (WAYSHUB_NGINX_IMAGE): "nginx:1.27.2-alpine"; nginx 1.27.3 or newer is needed (upstream "resolve"), e.g. nginx:1.30-alpine',
  ],
  [
    'nginx 1.26',
    { proxy: { image: 'nginx:1.26' } },
    'invalid proxy.image (WAYSHUB_NGINX_IMAGE): "nginx:1.26"; nginx 1.27.3 or newer is needed (upstream "resolve"), e.g. nginx:1.30-alpine',
  ],
  [
    'unknown LB method',
    () => withEnvironment({}, { WAYSHUB_LB_METHOD: 'fastest' }),
    'invalid proxy.loadBalancing (WAYSHUB_LB_METHOD): "fastest"; allowed: round_robin, least_conn, ip_hash, random_two_least_conn, hash:<$variables> or hash:<$variables>:consistent',
  ],
  [
    'hash key that injects a directive',
    () => withEnvironment({}, { WAYSHUB_LB_METHOD: 'hash:$remote_addr; return 200' }),
    'invalid proxy.loadBalancing (WAYSHUB_LB_METHOD): "hash:$remote_addr; return 200"; allowed hash keys: nginx variables like $remote_addr, $request_uri or $cookie_session, joined by nothing or one of - : / .',
  ],
  [
    'hash key without a variable',
    { proxy: { loadBalancing: { method: 'hash', key: 'literal', consistent: false } } },
    'invalid proxy.loadBalancing (WAYSHUB_LB_METHOD): "hash:literal"; allowed hash keys: nginx variables like $remote_addr, $request_uri or $cookie_session, joined by nothing or one of - : / .',
  ],
  [
    'body size with a unit nginx lacks',
    { proxy: { maxBodySize: '10mb' } },
    'invalid proxy.maxBodySize (WAYSHUB_MAX_BODY_SIZE): "10mb"; allowed: a size like 512k, 10m or 1g (digits with an optional k, m or g); 0 for no limit',
  ],
  [
    'body size with a directive after it',
    () => withEnvironment({}, { WAYSHUB_MAX_BODY_SIZE: '10m; autoindex on' }),
    'invalid proxy.maxBodySize (WAYSHUB_MAX_BODY_SIZE): "10m; autoindex on"; allowed: a size like 512k, 10m or 1g (digits with an optional k, m or g); 0 for no limit',
  ],
  [
    'docker host with an unknown scheme',
    { dockerHost: 'http://docker:2375' },
    'invalid dockerHost (DOCKER_HOST): "http://docker:2375"; allowed: unix:///path/docker.sock, tcp://host:port or ssh://user@host[:port], a port from 1 to 65535',
  ],
  [
    'build context without a Dockerfile',
    { app: { buildContext: '/nonexistent/wayshub-frontend' } },
    'invalid app.buildContext (WAYSHUB_APP_BUILD_CONTEXT): "/nonexistent/wayshub-frontend"; allowed: a directory that has a Dockerfile',
  ],
  [
    'healthcheck of an unknown kind',
    { app: { healthcheck: ['RUN', 'true'] } },
    'invalid app.healthcheck: ["RUN","true"]; allowed: ["CMD", "prog", "arg"...] or ["CMD-SHELL", "command"], single-line strings',
  ],
  [
    'no healthcheck, where a deploy waits for a healthy replica',
    { app: { healthcheck: ['NONE'] } },
    'invalid app.healthcheck: ["NONE"]; a deploy waits for new replicas to be healthy, so they need a healthcheck; allowed: ["CMD", "prog", "arg"...] or ["CMD-SHELL", "command"]',
  ],
  ["memory below Docker's minimum", { app: { memoryMb: 4 } }, "invalid app.memoryMb: 4; allowed: a whole number of MiB, at least 6 (Docker's minimum)"],
  ['env key with a space', { app: { env: { 'BAD KEY': 'x' } } }, 'invalid app.env key: "BAD KEY"; allowed: letters, digits and "_", not starting with a digit'],
  ['stack name with upper case', { name: 'Wayshub' }, 'invalid name: "Wayshub"; allowed: 1 to 30 of a-z, 0-9 and "-", starting with a letter, e.g. wayshub'],
  ['keepalive of 0', { proxy: { keepalive: 0 } }, 'invalid proxy.keepalive: 0; allowed: a whole number from 1 to 1024'],
];

describe('bad input is refused with one line naming the setting, the value and what is allowed', () => {
  test('the table covers at least 20 cases', () => {
    expect(BAD.length).toBeGreaterThanOrEqual(20);
  });

  test.each(BAD)('%s', (_case, input, message) => {
    let caught: unknown;
    try {
      resolveSettings(typeof input === 'function' ? input() : input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SettingsError);
    expect((caught as SettingsError).message).toBe(message);
    expect((caught as SettingsError).message).not.toContain('\n');
  });
});

describe('the upstream keep-alive timeout', () => {
  test('is 2 s unless set, and a whole number of seconds from 1 to 3600', () => {
    expect(resolveSettings({}).proxy.keepaliveTimeoutSeconds).toBe(2);
    expect(resolveSettings({ proxy: { keepaliveTimeoutSeconds: 3 } }).proxy.keepaliveTimeoutSeconds).toBe(3);
    expect(() => resolveSettings({ proxy: { keepaliveTimeoutSeconds: 0 } })).toThrow(
      'invalid proxy.keepaliveTimeoutSeconds: 0; allowed: a whole number from 1 to 3600',
    );
  });
});

describe('the drain time of a replica being removed', () => {
  test('is 30 s unless set, and becomes the stop timeout of the replicas', () => {
    expect(resolveSettings({}).app.drainSeconds).toBe(30);
    expect(resolveSettings({ backend: { image: 'be:1', drainSeconds: 5 } }).backend?.drainSeconds).toBe(5);
    expect(() => resolveSettings({ app: { drainSeconds: -1 } })).toThrow('invalid app.drainSeconds: -1; allowed: a whole number of seconds from 0 to 3600');
  });

  test('the app learns it as WAYSHUB_DRAIN_SECONDS, which its own env may not set', () => {
    expect(() => resolveSettings({ app: { env: { WAYSHUB_DRAIN_SECONDS: '5' } } })).toThrow(
      'invalid app.env key: "WAYSHUB_DRAIN_SECONDS"; that variable is set by the stack from app.drainSeconds; allowed: other names',
    );
    expect(() => resolveSettings({ backend: { image: 'be:1', secretEnv: ['WAYSHUB_DRAIN_SECONDS'] } })).toThrow(
      'invalid backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV): "WAYSHUB_DRAIN_SECONDS"; that variable is set by the stack from backend.drainSeconds; allowed: other names',
    );
  });
});
