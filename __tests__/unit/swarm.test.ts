// WAYSHUB_ENGINE=swarm: the same topology as Swarm services, and the local apply's translation
// of docker_service into `docker service create/update` flags.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Config, Network, Service } from '../../constructs/docker/provider';
import { SettingsError, resolveSettings, withEnvironment } from '../../constructs/settings';
import { synthStack } from '../support/synth';
import { makeCertificate } from '../support/certificates';
import { currentService, serviceCreateArgs, serviceSpec, serviceUpdateArgs } from '../support/local-apply/swarm-spec';
import { JsonObject } from '../support/local-apply/json-value';

const swarm = { engine: 'swarm', app: { image: 'registry.example.com/wayshub-frontend:1.4' } } as const;

describe('the engine setting', () => {
  test('is containers unless WAYSHUB_ENGINE says swarm', () => {
    expect(resolveSettings({}).engine).toBe('containers');
    expect(resolveSettings(withEnvironment({}, { WAYSHUB_ENGINE: 'swarm' })).engine).toBe('swarm');
    expect(resolveSettings(withEnvironment({}, { WAYSHUB_ENGINE: 'swarm', WAYSHUB_SWARM_ENCRYPT: 'on' })).swarm.encryptNetwork).toBe(true);
  });

  test.each([
    [{ engine: 'kubernetes' }, 'invalid engine (WAYSHUB_ENGINE): "kubernetes"; allowed: containers or swarm'],
    [{ ...swarm, app: { buildContext: __dirname } }, 'invalid app.buildContext (WAYSHUB_APP_BUILD_CONTEXT)'],
    [
      { ...swarm, tls: { mode: 'letsencrypt', email: 'you@alvin.xyz' } },
      'invalid tls.mode (WAYSHUB_TLS): "letsencrypt"; allowed with WAYSHUB_ENGINE=swarm: off or files',
    ],
    [
      { ...swarm, backend: { image: 'wayshub-backend:1' }, database: { allowDestroy: true } },
      'invalid database.allowDestroy (WAYSHUB_DB_ALLOW_DESTROY): true; allowed with WAYSHUB_ENGINE=swarm: false (the data volume stays on the database node',
    ],
  ])('refuses what Swarm mode can not run, in one line: %j', (input, message) => {
    expect(() => resolveSettings(input)).toThrow(SettingsError);
    expect(() => resolveSettings(input)).toThrow(message);
  });

  test('a bad WAYSHUB_SWARM_ENCRYPT is refused by name', () => {
    expect(() => withEnvironment({}, { WAYSHUB_SWARM_ENCRYPT: 'maybe' })).toThrow('invalid swarm.encryptNetwork (WAYSHUB_SWARM_ENCRYPT): "maybe"');
  });
});

describe('a Swarm deployment', () => {
  const { text, json, stack } = synthStack({ ...swarm, backend: { image: 'wayshub-backend:1' }, database: { enabled: false } });
  const upstreams = stack.edge.proxy.files.map((f) => f.content).join('\n');
  const services = json.resource.docker_service;

  test('has no plain containers: an attachable overlay network and three services', () => {
    expect(json.resource.docker_container).toBeUndefined();
    expect(text).toHaveResourceWithProperties(Network, { name: 'wayshub-net', driver: 'overlay', attachable: true });
    expect(Object.keys(services).sort()).toEqual(['api', 'app', 'proxy']);
  });

  test('the app is a replicated service counted by the same replicas variable, each task in DNS at tasks.wayshub-app', () => {
    expect(services.app).toMatchObject({
      name: 'wayshub-app',
      mode: { replicated: { replicas: '${var.replicas}' } },
      endpoint_spec: { mode: 'dnsrr' },
      task_spec: { container_spec: { image: 'registry.example.com/wayshub-frontend:1.4', stop_grace_period: '30s', cap_drop: ['ALL'] } },
    });
    expect(services.api).toMatchObject({ name: 'wayshub-backend', mode: { replicated: { replicas: '${var.backend_replicas}' } } });
    expect(upstreams).toContain('server tasks.wayshub-app:3000 resolve');
    expect(upstreams).toContain('server tasks.wayshub-backend:5000 resolve');
  });

  test('updates start the new task first, roll back on failure, and the deploy waits for convergence', () => {
    expect(services.app).toMatchObject({
      update_config: { order: 'start-first', failure_action: 'rollback', parallelism: 1, monitor: '10s' },
      rollback_config: { order: 'start-first' },
      converge_config: { timeout: '10m' },
    });
    const check = (services.app.task_spec as { container_spec: { healthcheck: { test: string[] } } }).container_spec.healthcheck;
    expect(check.test[0]).toBe('CMD-SHELL');
  });

  test('the backend secrets stay references to the sensitive variables', () => {
    expect((services.api.task_spec as { container_spec: { env: Record<string, string> } }).container_spec.env.JWT_PRIVATE_KEY).toBe('${var.jwt_private_key}');
    expect(services.api.lifecycle).toMatchObject({ precondition: [{ error_message: 'jwt_private_key must be at least 16 characters.' }] });
  });

  test('the proxy runs on the nodes labelled wayshub.proxy=true, publishes host-mode ports, and reads its config from Docker configs named by content', () => {
    expect(services.proxy).toMatchObject({
      name: 'wayshub-proxy',
      mode: { global: true },
      endpoint_spec: { ports: [{ target_port: 80, published_port: 80, publish_mode: 'host' }] },
      task_spec: { placement: { constraints: ['node.labels.wayshub.proxy == true'] }, container_spec: { read_only: true, stop_signal: 'SIGQUIT' } },
      update_config: { order: 'stop-first', failure_action: 'rollback' },
    });
    const configs = json.resource.docker_config;
    expect(Object.keys(configs)).toHaveLength(3);
    for (const config of Object.values(configs)) {
      expect(config.name).toMatch(/^wayshub-proxy-[0-9a-f]{8}-(nginx|upstreams|sites)$/);
      expect(config.lifecycle).toEqual({ create_before_destroy: true });
    }
    expect(text).toHaveResourceWithProperties(Config, { name: expect.stringMatching(/-nginx$/) });
  });

  test('a config change renames the configs, and nothing else of the proxy', () => {
    const other = synthStack({ ...swarm, proxy: { maxBodySize: '1m' } }).json;
    const names = (j: typeof json) => Object.values(j.resource.docker_config).map((c) => c.name);
    expect(names(other)).not.toEqual(names(synthStack(swarm).json));
    expect(other.resource.docker_service.proxy.name).toBe('wayshub-proxy');
  });

  test('HTTPS with your own files: certificate and key as Docker secrets, read by Terraform at apply time, never in cdk.tf.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-swarm-tls-'));
    const { cert, key, keySecret } = makeCertificate(dir, ['wayshub.localhost']);
    const tls = synthStack({ ...swarm, tls: { mode: 'files', certFile: cert, keyFile: key } });
    expect(tls.text).not.toContain(keySecret);
    expect(tls.json.resource.docker_secret.proxy_tls_key).toMatchObject({ data: `\${filebase64("${key}")}`, lifecycle: { create_before_destroy: true } });
    expect(tls.json.resource.docker_secret.proxy_tls_key.name).toContain(`filesha256("${key}")`);
    const spec = (tls.json.resource.docker_service.proxy.task_spec as { container_spec: { secrets: unknown[] } }).container_spec.secrets;
    expect(spec).toEqual([
      expect.objectContaining({ file_name: '/etc/nginx/wayshub/tls/fullchain.pem', file_mode: 0o400 }),
      expect.objectContaining({ file_name: '/etc/nginx/wayshub/tls/privkey.pem', file_mode: 0o400 }),
    ]);
    expect(tls.json.resource.docker_service.proxy.endpoint_spec).toMatchObject({
      ports: [{ target_port: 80 }, { target_port: 443, published_port: 443, publish_mode: 'host' }],
    });
    fs.rmSync(dir, { recursive: true });
  });

  test('an encrypted overlay on request', () => {
    expect(synthStack({ ...swarm, swarm: { encryptNetwork: true } }).text).toHaveResourceWithProperties(Network, { options: { encrypted: 'true' } });
  });

  test('outputs name the services', () => {
    expect(json.output.service_name.value).toBe('wayshub-app');
    expect(json.output.proxy_service.value).toBe('wayshub-proxy');
    expect(text).toHaveResource(Service);
  });
});

describe('the proxy on either engine: one nginx, hardened the same way', () => {
  const proxyOf = (input: Parameters<typeof synthStack>[0]) => {
    const { json, stack } = synthStack({ domain: 'alvin.xyz', serverAliases: ['www.alvin.xyz', '*.alvin.xyz'], ...input });
    return { json, files: stack.edge.proxy.files };
  };
  // Docker's log on both: an access log file is the container engine's alone.
  const container = proxyOf({ proxy: { accessLog: 'docker' } });
  const service = proxyOf(swarm);
  interface ProxyContainer {
    capabilities: { drop: string[]; add: string[] };
    tmpfs: Record<string, string>;
    stop_signal: string;
    destroy_grace_seconds: number;
    memory: number;
    networks_advanced: Array<{ aliases: string[] }>;
  }
  interface ProxyTaskSpec {
    container_spec: { cap_add: string[]; cap_drop: string[]; mounts: Array<{ target: string }>; stop_signal: string; stop_grace_period: string };
    resources: { limits: { memory_bytes: number } };
    networks_advanced: Array<{ aliases: string[] }>;
  }
  const c = container.json.resource.docker_container.proxy as unknown as ProxyContainer;
  const spec = (service.json.resource.docker_service.proxy as unknown as { task_spec: ProxyTaskSpec }).task_spec;

  test('the same config files (but the name that finds the replicas), capabilities, writable paths, graceful stop, drain and memory', () => {
    const swarmFiles = service.files.map((f) => ({ ...f, content: f.content.replace(/server tasks\.wayshub-app:/g, 'server wayshub-app:') }));
    expect(swarmFiles).toEqual(container.files);
    expect(c.capabilities).toEqual({ drop: ['ALL'], add: spec.container_spec.cap_add.map((cap) => `CAP_${cap}`) });
    expect(spec.container_spec.cap_drop).toEqual(['ALL']);
    expect(spec.container_spec.mounts.map((m) => m.target).sort()).toEqual(Object.keys(c.tmpfs).sort());
    expect(spec.container_spec.stop_signal).toBe(c.stop_signal);
    expect(c.stop_signal).toBe('SIGQUIT');
    expect(spec.container_spec.stop_grace_period).toBe(`${c.destroy_grace_seconds}s`);
    expect(spec.resources.limits.memory_bytes).toBe(c.memory * 1024 * 1024);
  });

  test("the same names lead to it inside the network: each site's first name, never a wildcard", () => {
    expect(c.networks_advanced[0].aliases).toEqual(['alvin.xyz']);
    expect(spec.networks_advanced[0].aliases).toEqual(c.networks_advanced[0].aliases);
  });
});

describe('MySQL in Swarm mode', () => {
  const { text, json } = synthStack({ ...swarm, backend: { image: 'wayshub-backend:1' }, swarm: { encryptNetwork: true } });
  const services = json.resource.docker_service;
  const containerSpec = (service: string) => (services[service].task_spec as { container_spec: Record<string, unknown> }).container_spec;

  test('one task, pinned to the node labelled wayshub.database=true, with its volume; the old task stops before a new one starts', () => {
    expect(services.db).toMatchObject({
      name: 'wayshub-db',
      mode: { replicated: { replicas: 1 } },
      endpoint_spec: { mode: 'dnsrr' },
      task_spec: { placement: { constraints: ['node.labels.wayshub.database == true'] }, networks_advanced: [{ name: '${docker_network.db_network.id}' }] },
      update_config: { order: 'stop-first' },
      converge_config: { timeout: '5m' },
    });
    expect(containerSpec('db').mounts).toEqual([{ type: 'volume', source: 'wayshub-db-data', target: '/var/lib/mysql' }]);
    // Docker creates the volume on the database node: no Terraform resource can delete it.
    expect(json.resource.docker_volume).toBeUndefined();
    expect(json.output.database_volume.value).toBe('wayshub-db-data');
    expect(json.output.database_service.value).toBe('${docker_service.db.name}');
  });

  test('the password is a Docker secret file for MySQL and a reference for the backend; never in cdk.tf.json', () => {
    expect(json.resource.docker_secret.db_password).toMatchObject({ name: 'wayshub-db-password', data: '${base64encode(var.db_password)}' });
    expect(containerSpec('db').env).toEqual({
      MYSQL_DATABASE: 'wayshub',
      MYSQL_USER: 'wayshub',
      MYSQL_PASSWORD_FILE: '/run/secrets/db-password',
      MYSQL_RANDOM_ROOT_PASSWORD: 'yes',
    });
    expect(containerSpec('db').secrets).toEqual([
      expect.objectContaining({ secret_name: '${docker_secret.db_password.name}', file_name: '/run/secrets/db-password' }),
    ]);
    expect(containerSpec('api').env).toMatchObject({ DB_HOST: 'wayshub-db', DB_PASSWORD: '${var.db_password}' });
  });

  test('its network is an internal, attachable overlay (encrypted on request) that only the backend and the migration job join', () => {
    expect(text).toHaveResourceWithProperties(Network, {
      name: 'wayshub-db-net',
      driver: 'overlay',
      attachable: true,
      internal: true,
      options: { encrypted: 'true' },
    });
    const networks = (service: string) => (services[service].task_spec as { networks_advanced: { name: string }[] }).networks_advanced.map((n) => n.name);
    // Services name networks by id, as Docker stores them (the contract test says why).
    expect(networks('api')).toEqual(['${docker_network.network.id}', '${docker_network.db_network.id}']);
    expect(networks('app')).toEqual(['${docker_network.network.id}']);
    expect(networks('proxy')).toEqual(['${docker_network.network.id}']);
    expect(json.resource.docker_container.migrate.networks_advanced).toEqual([{ name: '${docker_network.db_network.name}' }]);
  });

  test('the migration job runs after the database converged, on the backend image pulled to the manager, and before the backend rolls', () => {
    expect(json.resource.docker_container.migrate).toMatchObject({ image: '${docker_image.migrate_image.image_id}', depends_on: ['docker_service.db'] });
    expect(json.resource.docker_image.migrate_image).toMatchObject({ name: 'wayshub-backend:1', keep_locally: true });
    expect(services.api.depends_on).toEqual(['docker_container.migrate']);
  });
});

describe('docker_service as docker CLI commands (local apply)', () => {
  const attrs = (image: string, replicas: number, env: Record<string, string>): JsonObject => ({
    name: 'web',
    labels: [{ label: 'wayshub.role', value: 'app' }],
    mode: { replicated: { replicas } },
    endpoint_spec: { mode: 'dnsrr' },
    task_spec: {
      container_spec: { image, env, healthcheck: { test: ['CMD-SHELL', 'true'], interval: '5s' }, cap_drop: ['ALL'] },
      networks_advanced: [{ name: 'net' }],
    },
    update_config: { order: 'start-first', failure_action: 'rollback' },
    converge_config: { timeout: '2m' },
  });

  test('create sets everything declared', () => {
    const spec = serviceSpec('docker_service.web', attrs('app:1', 3, { A: '1' }));
    expect(spec.convergeSeconds).toBe(120);
    expect(serviceCreateArgs(spec)).toEqual([
      '--name',
      'web',
      '--mode',
      'replicated',
      '--endpoint-mode',
      'dnsrr',
      '--replicas',
      '3',
      '--read-only=false',
      '--health-cmd',
      'true',
      '--health-interval',
      '5s',
      '--update-failure-action',
      'rollback',
      '--update-order',
      'start-first',
      '--cap-drop',
      'ALL',
      '--env',
      'A=1',
      '--label',
      'wayshub.role=app',
      '--network',
      'name=net',
      'app:1',
    ]);
  });

  test('update moves the current spec to the declared one: changed env added, dropped keys removed', () => {
    const spec = serviceSpec('docker_service.web', attrs('app:2', 5, { A: '2', C: '3' }));
    const current = currentService(
      {
        Spec: {
          Labels: { 'wayshub.role': 'app' },
          Mode: { Replicated: { Replicas: 3 } },
          EndpointSpec: { Mode: 'dnsrr' },
          TaskTemplate: { ContainerSpec: { Env: ['A=1', 'B=1'], CapabilityDrop: ['ALL'] }, Networks: [{ Target: 'n1' }] },
        },
      },
      new Map([['n1', 'net']]),
    );
    const args = serviceUpdateArgs(spec, current, []);
    expect(args.slice(0, 2)).toEqual(['--image', 'app:2']);
    expect(args).toContain('--replicas');
    expect(args.join(' ')).toContain('--env-rm B --env-add A=2 --env-add C=3');
    expect(args).not.toContain('--network-add');
    expect(args).not.toContain('--label-add');
  });

  test('refuses what docker service update can not change, and attributes it does not implement', () => {
    const global = currentService(
      { Spec: { Mode: { Global: {} }, EndpointSpec: { Mode: 'dnsrr' }, TaskTemplate: { ContainerSpec: { CapabilityDrop: ['ALL'] } } } },
      new Map(),
    );
    expect(() => serviceUpdateArgs(serviceSpec('docker_service.web', attrs('app:1', 1, {})), global, [])).toThrow(
      'local-apply: docker_service.web: changing the mode of a running service is not implemented by this harness',
    );
    const withAuth = { ...attrs('app:1', 1, {}), auth: { server_address: 'r' } };
    expect(() => serviceSpec('docker_service.web', withAuth)).toThrow('docker_service.web sets `auth`, which this harness does not implement');
  });
});
