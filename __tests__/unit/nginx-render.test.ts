import {
  NGINX_CONF_PATH,
  PROXY_HEALTH_PATH,
  ProxyConfig,
  SITE_CONF_PATH,
  SiteConfig,
  UPSTREAM_CONF_PATH,
  UpstreamMethod,
  renderNginxConfig,
} from '../../nginx/render';

function site(overrides: Partial<SiteConfig> = {}, lb: UpstreamMethod = { method: 'round_robin' }): SiteConfig {
  return {
    serverNames: ['alvin.xyz'],
    maxBodySize: '10m',
    connectTimeoutSeconds: 2,
    readTimeoutSeconds: 60,
    nextUpstreamTries: 3,
    nextUpstreamTimeoutSeconds: 10,
    upstream: {
      name: 'wayshub_app',
      alias: 'wayshub-app',
      port: 3000,
      loadBalancing: lb,
      maxFails: 1,
      failTimeoutSeconds: 5,
      keepalive: 32,
      keepaliveTimeoutSeconds: 2,
    },
    ...overrides,
  };
}

function render(config: ProxyConfig = { sites: [site()] }): Record<string, string> {
  return Object.fromEntries(renderNginxConfig(config).map((f) => [f.path, f.content]));
}

/** Directive lines, comments and blank lines dropped, whitespace folded. */
function directives(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim().replace(/\s+/g, ' '))
    .filter((l) => l.length > 0);
}

describe('the files', () => {
  test('are the main config, the upstreams and the sites, at fixed paths', () => {
    expect(renderNginxConfig({ sites: [site()] }).map((f) => f.path)).toEqual([NGINX_CONF_PATH, UPSTREAM_CONF_PATH, SITE_CONF_PATH]);
  });

  test('the main config loads only our two files, hides the version and logs upstream timings', () => {
    const main = directives(render()[NGINX_CONF_PATH]);
    expect(main.filter((d) => d.startsWith('include'))).toEqual([
      'include /etc/nginx/mime.types;',
      `include ${UPSTREAM_CONF_PATH};`,
      `include ${SITE_CONF_PATH};`,
    ]);
    expect(main).toContain('server_tokens off;');
    const logFormat = render()[NGINX_CONF_PATH].slice(render()[NGINX_CONF_PATH].indexOf('log_format'));
    for (const v of ['$upstream_addr', '$upstream_status', '$upstream_response_time', '$request_time']) {
      expect(logFormat).toContain(v);
    }
    // Batched, flushed within 1 s, each write no bigger than a pipe writes in one piece.
    expect(main).toContain('access_log /dev/stdout wayshub buffer=4k flush=1s;');
  });

  test('gzip is on for text types', () => {
    const main = render()[NGINX_CONF_PATH];
    expect(directives(main)).toContain('gzip on;');
    expect(main).toMatch(/gzip_types[^;]*text\/css[^;]*application\/javascript[^;]*application\/json/);
  });

  test('are commented, like a hand-written config', () => {
    for (const content of Object.values(render())) {
      expect(content.split('\n').filter((l) => l.trim().startsWith('#')).length).toBeGreaterThanOrEqual(3);
    }
  });

  test('the same settings give the same bytes', () => {
    expect(render()).toEqual(render());
  });
});

describe('the upstream', () => {
  const upstream = directives(render()[UPSTREAM_CONF_PATH]);

  test('resolves the replicas alias through Docker DNS every second, in shared memory', () => {
    expect(upstream).toEqual(
      expect.arrayContaining([
        'upstream wayshub_app {',
        'zone wayshub_app 256k;',
        'resolver 127.0.0.11 valid=1s ipv6=off;',
        'server wayshub-app:3000 resolve max_fails=1 fail_timeout=5s;',
        'keepalive 32;',
      ]),
    );
  });

  test('max_fails, fail_timeout and keepalive follow the settings', () => {
    const s = site();
    const text = render({ sites: [{ ...s, upstream: { ...s.upstream, maxFails: 3, failTimeoutSeconds: 30, keepalive: 8, port: 5000 } }] })[UPSTREAM_CONF_PATH];
    expect(directives(text)).toEqual(expect.arrayContaining(['server wayshub-app:5000 resolve max_fails=3 fail_timeout=30s;', 'keepalive 8;']));
  });
});

describe('load-balancing methods', () => {
  const METHOD_LINES = ['least_conn;', 'ip_hash;', 'random two least_conn;'];
  const cases: Array<[string, UpstreamMethod, string | undefined]> = [
    ['round robin is nginx default: no directive', { method: 'round_robin' }, undefined],
    ['least_conn', { method: 'least_conn' }, 'least_conn;'],
    ['ip_hash', { method: 'ip_hash' }, 'ip_hash;'],
    ['random two least_conn', { method: 'random_two_least_conn' }, 'random two least_conn;'],
    ['hash on a key', { method: 'hash', key: '$request_uri', consistent: false }, 'hash $request_uri;'],
    ['consistent hash on a key', { method: 'hash', key: '$cookie_session', consistent: true }, 'hash $cookie_session consistent;'],
  ];

  test.each(cases)('%s', (_name, lb, line) => {
    const upstream = directives(render({ sites: [site({}, lb)] })[UPSTREAM_CONF_PATH]);
    const methodLines = upstream.filter((d) => METHOD_LINES.includes(d) || d.startsWith('hash '));
    expect(methodLines).toEqual(line ? [line] : []);
    // The method sits inside the upstream block, before the server line.
    if (line) expect(upstream.indexOf(line)).toBeLessThan(upstream.findIndex((d) => d.startsWith('server ')));
  });
});

describe('the sites', () => {
  test('serve the domain and its extra names', () => {
    const sites = directives(render({ sites: [site({ serverNames: ['alvin.xyz', 'www.alvin.xyz', '*.alvin.xyz'] })] })[SITE_CONF_PATH]);
    expect(sites).toContain('server_name alvin.xyz www.alvin.xyz *.alvin.xyz;');
  });

  test('a default server closes connections for unknown names with 444', () => {
    const text = render()[SITE_CONF_PATH];
    expect(text).toMatch(/server \{\s*listen 80 default_server;\s*server_name _;\s*return 444;\s*\}/);
  });

  test('pass the client, host and scheme on, and upgrade WebSockets', () => {
    const sites = directives(render()[SITE_CONF_PATH]);
    expect(sites).toEqual(
      expect.arrayContaining([
        'map $http_upgrade $connection_upgrade {',
        "'' '';",
        'default upgrade;',
        'proxy_pass http://wayshub_app;',
        'proxy_http_version 1.1;',
        'proxy_set_header Host $host;',
        'proxy_set_header X-Real-IP $remote_addr;',
        'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
        'proxy_set_header X-Forwarded-Proto $scheme;',
        'proxy_set_header X-Forwarded-Host $host;',
        'proxy_set_header Upgrade $http_upgrade;',
        'proxy_set_header Connection $connection_upgrade;',
      ]),
    );
  });

  test('retry on another replica within bounded tries and time, with the configured timeouts', () => {
    const sites = directives(
      render({ sites: [site({ nextUpstreamTries: 2, nextUpstreamTimeoutSeconds: 7, connectTimeoutSeconds: 1, readTimeoutSeconds: 30, maxBodySize: '5m' })] })[
        SITE_CONF_PATH
      ],
    );
    expect(sites).toEqual(
      expect.arrayContaining([
        'proxy_next_upstream error timeout http_502 http_503 http_504;',
        'proxy_next_upstream_tries 2;',
        'proxy_next_upstream_timeout 7s;',
        'proxy_connect_timeout 1s;',
        'proxy_read_timeout 30s;',
        'client_max_body_size 5m;',
      ]),
    );
  });

  test("nginx's own 502 and 504 are retried once as a new request, for methods safe to repeat", () => {
    const text = render()[SITE_CONF_PATH];
    expect(text).toMatch(/location \/ \{\s*proxy_pass http:\/\/wayshub_app;[^}]*error_page 502 504 = @wayshub_app_retry;\s*\}/);
    expect(text).toMatch(/location @wayshub_app_retry \{\s*if \(\$wayshub_retry_safe = 0\) \{\s*return 502;\s*\}\s*proxy_pass http:\/\/wayshub_app;\s*\}/);
    expect(text).toMatch(/map \$request_method \$wayshub_retry_safe \{\s*GET\s+1;\s*HEAD\s+1;\s*OPTIONS\s+1;\s*default 0;\s*\}/);
  });

  test('the proxy answers its own health location without a replica', () => {
    const text = render()[SITE_CONF_PATH];
    expect(text).toMatch(new RegExp(`location = ${PROXY_HEALTH_PATH} \\{[^}]*return 200 "ok\\\\n";`));
  });

  test('several sites get one upstream and one server each', () => {
    const api = site({ serverNames: ['api.alvin.xyz'] });
    const files = render({ sites: [site(), { ...api, upstream: { ...api.upstream, name: 'wayshub_api', alias: 'wayshub-api', port: 5000 } }] });
    expect(directives(files[UPSTREAM_CONF_PATH]).filter((d) => d.startsWith('upstream '))).toEqual(['upstream wayshub_app {', 'upstream wayshub_api {']);
    expect(directives(files[SITE_CONF_PATH])).toEqual(expect.arrayContaining(['server_name api.alvin.xyz;', 'proxy_pass http://wayshub_api;']));
  });
});

describe('the renderer refuses unsafe values on its own', () => {
  test.each([
    ['a server name that ends the directive', site({ serverNames: ['alvin.xyz; return 200'] })],
    ['a body size with a block', site({ maxBodySize: '1m{' })],
    ['an alias with a space', { ...site(), upstream: { ...site().upstream, alias: 'a b' } }],
    ['a hash key with a quote', site({}, { method: 'hash', key: '$a"', consistent: false })],
    ['a negative timeout', site({ readTimeoutSeconds: -1 })],
  ])('%s', (_name, s) => {
    expect(() => renderNginxConfig({ sites: [s] })).toThrow(/^renderNginxConfig: /);
  });

  test('no sites at all', () => {
    expect(() => renderNginxConfig({ sites: [] })).toThrow('at least one site');
  });
});

describe('idle connections to the replicas', () => {
  test('are closed by nginx after keepaliveTimeoutSeconds, before Node (5 s) would close them', () => {
    const upstreams = directives(render()['/etc/nginx/wayshub/upstreams.conf']);
    expect(upstreams).toEqual(expect.arrayContaining(['keepalive 32;', 'keepalive_timeout 2s;']));
  });
});
