import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Container, DockerProvider, Image, Network } from '../../constructs/docker/provider';
import { WayshubSettingsInput, resolveSettings, withEnvironment } from '../../constructs/settings';
import { synthStack, uploadedFiles } from '../support/synth';

// The replicas' name: the stack, the tier, the plan's time (YYMMDDhhmmss) and the count index.
const REPLICA_NAME = 'wayshub-app-${formatdate("YYMMDDhhmmss", plantimestamp())}-${(count.index + 1)}';
describe('the default deployment', () => {
  const { text, json } = synthStack();

  test('talks to the local Docker socket', () => {
    expect(text).toHaveProviderWithProperties(DockerProvider, { host: 'unix:///var/run/docker.sock' });
  });

  test('has a "replicas" variable: a number, default 3, whole and 1..20 by its own validation', () => {
    expect(json.variable.replicas).toEqual({
      type: 'number',
      default: 3,
      description: 'How many app containers run behind the proxy (1 to 20).',
      validation: [
        {
          condition: '${var.replicas >= 1 && var.replicas <= 20 && floor(var.replicas) == var.replicas}',
          error_message: 'replicas must be a whole number from 1 to 20, got ${var.replicas}.',
        },
      ],
    });
  });

  test('puts everything on one private bridge network labelled with the stack', () => {
    expect(text).toHaveResourceWithProperties(Network, {
      name: 'wayshub-net',
      driver: 'bridge',
      labels: [{ label: 'wayshub.stack', value: 'wayshub' }],
    });
  });

  test('runs "replicas" app containers named wayshub-app-<created>-1..N, counted by the variable', () => {
    const app = json.resource.docker_container.app;
    expect(app.count).toBe('${var.replicas}');
    expect(app.name).toBe(REPLICA_NAME);
    expect(app.hostname).toBe(app.name);
    expect(app.image).toBe('${docker_image.app_image.image_id}');
  });

  test('replicas share one DNS alias, publish no port, restart unless stopped, and have a healthcheck', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: REPLICA_NAME,
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['wayshub-app'] }],
      restart: 'unless-stopped',
      destroy_grace_seconds: 30,
      healthcheck: {
        // As Terraform literals: curl's %{http_code} and the shell's ${c:-nothing} escaped.
        test: ['CMD-SHELL', expect.stringMatching(/^u='http:\/\/127\.0\.0\.1:3000\/'; .*-w '%%\{http_code\}'.*answered \$\$\{c:-nothing\}"; exit 1$/)],
        interval: '10s',
        timeout: '3s',
        start_period: '10s',
        retries: 3,
      },
      labels: [
        // The healthcheck's digest: a new healthcheck replaces the replicas (provider-contract.test.ts).
        { label: 'wayshub.healthcheck', value: expect.stringMatching(/^[0-9a-f]{16}$/) },
        { label: 'wayshub.role', value: 'app' },
        { label: 'wayshub.stack', value: 'wayshub' },
      ],
    });
    expect(json.resource.docker_container.app.ports).toBeUndefined();
    expect(json.resource.docker_container.app.memory).toBeUndefined();
    // The one variable every replica gets: how long it has between SIGTERM and SIGKILL.
    expect(json.resource.docker_container.app.env).toEqual(['WAYSHUB_DRAIN_SECONDS=30']);
    expect(json.resource.docker_container.app.destroy_grace_seconds).toBe(30);
  });

  test("keeps the user's images on the host when destroyed", () => {
    expect(json.resource.docker_image.app_image).toMatchObject({ name: 'nginx:1.30-alpine', keep_locally: true });
    expect(json.resource.docker_image.proxy_image).toMatchObject({ name: 'nginx:1.30-alpine', keep_locally: true });
    expect(json.resource.docker_image.app_image.build).toBeUndefined();
    expect(synthStack({ app: { image: 'wayshub-frontend:1' } }).json.resource.docker_image.app_image).toMatchObject({
      name: 'wayshub-frontend:1',
      keep_locally: true,
    });
  });

  test("needs no image you build: the replicas are the demo app, on the proxy's own nginx image, answering with their names", () => {
    const app = json.resource.docker_container.app as { image: string; command: string[]; capabilities: unknown };
    expect(json.resource.docker_image.app_image.name).toBe(json.resource.docker_image.proxy_image.name);
    expect(app.command[0]).toBe('/bin/sh');
    expect(app.command[2]).toContain('listen 3000;');
    expect(app.command[2]).toContain('return 200 "$hostname\\n";');
    // nginx's master creates its temp directories and drops to its workers' user: nothing more.
    expect(app.capabilities).toEqual({ drop: ['ALL'], add: ['CAP_CHOWN', 'CAP_SETGID', 'CAP_SETUID'] });
    // Your app instead is one setting: its image runs its own command, with no capability back.
    const yours = synthStack({ app: { image: 'wayshub-frontend:1' } }).json.resource.docker_container.app as { command?: string[]; capabilities: unknown };
    expect(yours.command).toBeUndefined();
    expect(yours.capabilities).toEqual({ drop: ['ALL'] });
  });

  test('the proxy publishes port 80, restarts unless stopped and runs nginx on our config only', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      image: '${docker_image.proxy_image.image_id}',
      command: ['/bin/sh', '/etc/nginx/wayshub/start.sh'],
      ports: [{ internal: 80, external: 80 }],
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['wayshub.localhost'] }],
      volumes: [
        { volume_name: '${docker_volume.proxy_config.name}', container_path: '/etc/nginx/wayshub', read_only: true },
        { volume_name: '${docker_volume.proxy_access_log.name}', container_path: '/var/log/wayshub' },
      ],
      restart: 'unless-stopped',
      depends_on: ['docker_container.proxy_config_loader'],
    });
    expect(Object.keys(uploadedFiles(json))).toEqual([
      '/etc/nginx/wayshub/nginx.conf',
      '/etc/nginx/wayshub/upstreams.conf',
      '/etc/nginx/wayshub/sites.conf',
      '/etc/nginx/wayshub/start.sh',
    ]);
    expect(uploadedFiles(json)['/etc/nginx/wayshub/start.sh']).toContain("exec nginx -c /etc/nginx/wayshub/nginx.conf -g 'daemon off;'");
    expect(uploadedFiles(json)['/etc/nginx/wayshub/upstreams.conf']).toContain('server wayshub-app:3000 resolve');
    expect(uploadedFiles(json)['/etc/nginx/wayshub/sites.conf']).toContain('server_name wayshub.localhost;');
  });

  test('a one-shot loader puts the config into the volume and has nginx check it (the proxy root is read-only)', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy-config',
      image: '${docker_image.proxy_image.image_id}',
      volumes: [
        { volume_name: '${docker_volume.proxy_config.name}', container_path: '/etc/nginx/wayshub' },
        { volume_name: '${docker_volume.proxy_access_log.name}', container_path: '/var/log/wayshub' },
      ],
      attach: true,
      must_run: false,
      restart: 'no',
      // nginx's verdict counts in the deploy that ran the loader only: a refused config does not
      // fail every later plan of the same loader (the plan's time it was created at is in its env).
      env: ['WAYSHUB_PLANNED_AT=${plantimestamp()}'],
      lifecycle: {
        ignore_changes: ['env'],
        postcondition: [
          {
            condition: '${self.exit_code == 0 || !contains(self.env, format("WAYSHUB_PLANNED_AT=%s", plantimestamp()))}',
            error_message:
              "nginx refused the new config, and the running proxy keeps the one it has; see nginx's message with: docker logs wayshub-proxy-config",
          },
        ],
      },
    });
    const [shell, flag, script] = json.resource.docker_container.proxy_config_loader.command as string[];
    expect([shell, flag]).toEqual(['/bin/sh', '-c']);
    // Checked in place, taken back when refused, and announced to the proxy only when accepted.
    const steps = [
      'cp -R /wayshub-upload/. /etc/nginx/wayshub/',
      'nginx -t -q -c /etc/nginx/wayshub/nginx.conf',
      'cp -R "$previous"/. /etc/nginx/wayshub/',
      'exit 1',
      'cp /wayshub-version /etc/nginx/wayshub/.version',
    ];
    const at = steps.map((step) => script.indexOf(step));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  // The README's "Changing a running deployment" table: these settings reload the running nginx.
  test.each<[string, WayshubSettingsInput]>([
    ['a server alias', { serverAliases: ['www.wayshub.localhost'] }],
    ['the body limit', { proxy: { maxBodySize: '50m' } }],
    ['the load-balancing method', { proxy: { loadBalancing: { method: 'least_conn' } } }],
    ['a timeout and the retries', { proxy: { readTimeoutSeconds: 30, nextUpstreamTries: 2 } }],
    ['the upstream keep-alive', { proxy: { keepalive: 8 } }],
    [
      'a rate limit behind a trusted balancer',
      { proxy: { rateLimit: { rate: '10r/s', burst: 20 }, realIp: { trustedFrom: ['10.0.0.0/8'], header: 'X-Forwarded-For' } } },
    ],
    ['the security headers', { proxy: { securityHeaders: false } }],
  ])('%s: a new loader, and nothing of the proxy container changes', (_what, change) => {
    const other = synthStack(change).json;
    expect(other.resource.docker_container.proxy).toEqual(json.resource.docker_container.proxy);
    expect(other.resource.docker_container.proxy_config_loader.upload).not.toEqual(json.resource.docker_container.proxy_config_loader.upload);
  });

  test('the proxy is hardened: read-only root, tmpfs for nginx, few capabilities, no new privileges, limits, rotated logs', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      read_only: true,
      tmpfs: { '/tmp': 'rw,size=64m', '/run': 'rw,size=1m', '/var/cache/nginx': 'rw,size=64m', '/var/lib/nginx': 'rw,size=64m' },
      capabilities: { drop: ['ALL'], add: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID'] },
      security_opts: ['no-new-privileges:true'],
      memory: 256,
      log_driver: 'json-file',
      log_opts: { 'max-size': '10m', 'max-file': '3' },
    });
  });

  test('replicas drop every capability, gain no privileges and rotate their logs', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: REPLICA_NAME,
      capabilities: { drop: ['ALL'], add: ['CAP_CHOWN', 'CAP_SETGID', 'CAP_SETUID'] },
      security_opts: ['no-new-privileges:true'],
      log_driver: 'json-file',
      log_opts: { 'max-size': '10m', 'max-file': '3' },
    });
  });

  test('outputs the URL, the replica names (a splat), the network and the proxy', () => {
    expect(json.output).toEqual({
      url: { description: 'Where the site answers.', value: 'http://wayshub.localhost/' },
      replica_names: { description: 'App replica containers.', value: '${docker_container.app[*].name}' },
      network_name: { description: 'The private network.', value: '${docker_network.network.name}' },
      proxy_name: { description: 'The nginx proxy container.', value: '${docker_container.proxy.name}' },
    });
  });

  // Its whole cdk.tf.json is the first snapshot of the matrix (snapshot-matrix.test.ts).
});

describe('no cdktf token leaks into the Terraform JSON', () => {
  const variants = {
    default: synthStack(),
    everything: synthStack({
      domain: 'alvin.xyz',
      serverAliases: ['www.alvin.xyz'],
      replicas: 7,
      app: { port: 5000, memoryMb: 256, env: { NODE_ENV: 'production' } },
      proxy: { httpPort: 8080, loadBalancing: { method: 'hash', key: '$remote_addr', consistent: true } },
    }),
  };

  test.each(Object.entries(variants))('%s', (_name, { json }) => {
    const strings: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => (strings.push(k), walk(x)));
    };
    walk(json);
    expect(strings.length).toBeGreaterThan(50);
    for (const s of strings) {
      expect(s).not.toMatch(/\d\.?\d*e\+\d/); // a number token rendered as a float, e.g. -8.1e+298
      expect(s).not.toContain('${${');
      expect(s).not.toContain('TfToken');
      expect(s).not.toMatch(/Token\[/);
    }
  });
});

describe('scaling never touches the nginx config', () => {
  test('the nginx files are identical for replicas 1 and 20', () => {
    const one = uploadedFiles(synthStack({ replicas: 1 }).json);
    const twenty = uploadedFiles(synthStack({ replicas: 20 }).json);
    expect(Object.keys(one)).toHaveLength(4);
    expect(twenty).toEqual(one);
  });

  test('only the variable default differs between replicas 1 and 20', () => {
    const one = synthStack({ replicas: 1 }).json;
    const twenty = synthStack({ replicas: 20 }).json;
    expect(twenty.variable.replicas.default).toBe(20);
    expect({ ...twenty, variable: {} }).toEqual({ ...one, variable: {} });
  });
});

describe('settings reach the resources', () => {
  test('a domain with extra names, a host port and a load-balancing method', () => {
    const { json, text } = synthStack({
      domain: 'alvin.xyz',
      serverAliases: ['www.alvin.xyz'],
      proxy: { httpPort: 8080, loadBalancing: { method: 'least_conn' }, maxBodySize: '50m' },
    });
    expect(json.output.url.value).toBe('http://alvin.xyz:8080/');
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      ports: [{ internal: 80, external: 8080 }],
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['alvin.xyz'] }],
    });
    const files = uploadedFiles(json);
    expect(files['/etc/nginx/wayshub/sites.conf']).toContain('server_name alvin.xyz www.alvin.xyz;');
    expect(files['/etc/nginx/wayshub/sites.conf']).toContain('client_max_body_size 50m;');
    expect(files['/etc/nginx/wayshub/upstreams.conf']).toContain('    least_conn;\n');
  });

  test('memory limit, environment and a custom healthcheck on every replica', () => {
    const { text } = synthStack({
      app: { port: 5000, memoryMb: 256, env: { NODE_ENV: 'production', API: 'x' }, healthcheck: ['CMD', 'node', '/app/health.js'] },
    });
    expect(text).toHaveResourceWithProperties(Container, {
      name: REPLICA_NAME,
      memory: 256,
      env: ['API=x', 'NODE_ENV=production', 'WAYSHUB_DRAIN_SECONDS=30'],
      healthcheck: expect.objectContaining({ test: ['CMD', 'node', '/app/health.js'] }),
    });
  });

  test('user text that looks like a Terraform interpolation stays literal', () => {
    const { json } = synthStack({ app: { env: { GREETING: 'hi ${var.replicas} %{if true}' } } });
    expect(json.resource.docker_container.app.env).toEqual(['GREETING=hi $${var.replicas} %%{if true}', 'WAYSHUB_DRAIN_SECONDS=30']);
  });

  test('a relative build context is built from its absolute path, tagged with the image name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-ctx-'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    const { text } = synthStack({ app: { image: 'wayshub-frontend:dev', buildContext: path.relative(process.cwd(), dir) } });
    expect(text).toHaveResourceWithProperties(Image, { name: 'wayshub-frontend:dev', keep_locally: true, build: { context: dir } });
  });

  test.each(['tcp://10.0.0.5:2376', 'ssh://deploy@alvin.xyz', 'ssh://deploy@203.0.113.7:2222'])('a remote Docker host %s', (host) => {
    expect(synthStack({ dockerHost: host }).text).toHaveProviderWithProperties(DockerProvider, { host });
  });

  test('a stack name prefixes every Docker object', () => {
    const { json } = synthStack({ name: 'alvin' });
    expect(json.resource.docker_container.app.name).toBe(REPLICA_NAME.replace('wayshub-', 'alvin-'));
    expect(json.resource.docker_container.proxy.name).toBe('alvin-proxy');
    expect(json.resource.docker_network.network.name).toBe('alvin-net');
    expect(uploadedFiles(json)['/etc/nginx/wayshub/upstreams.conf']).toContain('upstream alvin_app {');
  });
});

describe('a new image rolls out: new replicas first, healthy, then the old ones go', () => {
  const { json } = synthStack({});
  const app = json.resource.docker_container.app;

  test('the replicas are created before the ones they replace are destroyed, and each must be healthy', () => {
    expect(app.lifecycle).toEqual({ create_before_destroy: true, ignore_changes: ['name', 'hostname'] });
    expect(app.wait).toBe(true);
    expect(app.wait_timeout).toBe(60);
  });

  test('each is named when it is created, so that a replacement, even of a tainted replica with the same settings, never takes an old name', () => {
    // The plan's time, and later plans leave the name alone: only a new replica gets a new name.
    expect(app.name).toBe(REPLICA_NAME);
    expect(app.hostname).toBe(app.name);
    expect(json.resource.terraform_data).toBeUndefined();
  });

  test('a new replica has healthTimeoutSeconds to become healthy', () => {
    expect(synthStack({ app: { healthTimeoutSeconds: 120 } }).json.resource.docker_container.app.wait_timeout).toBe(120);
    expect(() => synthStack({ app: { healthTimeoutSeconds: 5 } })).toThrow(
      'invalid app.healthTimeoutSeconds: 5; allowed: a whole number of seconds from 15 to 3600',
    );
  });
});

describe('app servers the stack does not run (WAYSHUB_APP_SERVERS), as on two VMs', () => {
  const input: WayshubSettingsInput = withEnvironment({ replicas: 0 }, { WAYSHUB_APP_SERVERS: '10.0.0.11:3000, vm2.alvin.xyz:3000,[fd00::12]:3000' });
  const { json, stack } = synthStack(input);
  const upstreams = stack.edge.proxy.files.map((f) => f.content).join('\n');

  test('the proxy balances over them beside the replicas, with the same health rules; a name is re-resolved', () => {
    expect(upstreams).toContain('server wayshub-app:3000 resolve max_fails=1 fail_timeout=5s;');
    expect(upstreams).toContain('server 10.0.0.11:3000 max_fails=1 fail_timeout=5s;');
    expect(upstreams).toContain('server vm2.alvin.xyz:3000 resolve max_fails=1 fail_timeout=5s;');
    expect(upstreams).toContain('server [fd00::12]:3000 max_fails=1 fail_timeout=5s;');
  });

  test('replicas may be 0, and then no app image is pulled or built', () => {
    expect(json.variable.replicas).toMatchObject({
      default: 0,
      validation: [{ condition: '${var.replicas >= 0 && var.replicas <= 20 && floor(var.replicas) == var.replicas}' }],
    });
    expect(json.resource.docker_image.app_image.count).toBe('${(var.replicas >= 1) ? 1 : 0}');
    expect(json.resource.docker_container.app.image).toBe('${docker_image.app_image[0].image_id}');
  });

  test('without them nothing changes: at least one replica, one image', () => {
    const plain = synthStack({}).json;
    expect(plain.resource.docker_image.app_image.count).toBeUndefined();
    expect(plain.variable.replicas.validation).toEqual([expect.objectContaining({ condition: expect.stringContaining('var.replicas >= 1') })]);
  });

  test.each<[string, string]>([
    ['no port', '10.0.0.11'],
    ['port 0', '10.0.0.11:0'],
    ['a port too high', '10.0.0.11:65536'],
    ['a bad IPv4 address', '10.0.0.256:3000'],
    ['an IPv6 address without brackets', 'fd00::12:3000'],
    ['a name inside the Docker network', 'wayshub-app:3000'],
    ['an nginx directive', '10.0.0.11:3000; return 200'],
  ])('%s is refused with one line', (_what, server) => {
    expect(() => resolveSettings(withEnvironment({}, { WAYSHUB_APP_SERVERS: server }))).toThrow(/^invalid app\.servers \(WAYSHUB_APP_SERVERS\): /);
  });

  test('0 replicas without them is refused', () => {
    expect(() => resolveSettings({ replicas: 0 })).toThrow('invalid replicas: 0; allowed: a whole number from 1 to 20');
  });

  test('the backend has no such setting yet: refused, not ignored', () => {
    expect(() => resolveSettings({ backend: { image: 'b:1', servers: ['10.0.0.11:5000'] } })).toThrow('app servers outside the stack are for the frontend');
  });
});
