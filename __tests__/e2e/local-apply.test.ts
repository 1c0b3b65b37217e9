// The local apply itself, on the real engine and real Terraform, with a small hand-written
// stack: a network, a local image, `count = var.replicas` containers with an upload, a
// label and an alias, and a probe container that depends on them. The tests run in order
// and share one deployment: apply, scale up, scale down, change, fail validation, destroy.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describeE2E } from '../support/e2e-gate';
import { ApplyResult, LocalApply, busyboxImage, deploymentLabel, docker, runDocker } from '../support/local-apply';

const prefix = `la-${randomBytes(3).toString('hex')}`;
const net = `${prefix}-net`;
const alias = `${prefix}-app`;
const app = (n: number): string => `${prefix}-app-${n}`;
const probe = `${prefix}-probe`;

/** The stack as `cdktf synth` would write it (terraform JSON syntax). */
function fixture(image: string): object {
  return {
    '//': { metadata: { backend: 'local', stackName: 'local-apply-e2e', version: '0.21.0' } },
    terraform: {
      required_providers: { docker: { source: 'kreuzwerker/docker', version: '3.6.2' } },
      backend: { local: { path: '/nonexistent/terraform.local-apply-e2e.tfstate' } },
    },
    provider: { docker: [{ host: 'unix:///var/run/docker.sock' }] },
    variable: {
      replicas: {
        type: 'number',
        default: 3,
        validation: [
          {
            condition: '${var.replicas >= 1 && var.replicas <= 6}',
            error_message: 'replicas must be from 1 to 6, got ${var.replicas}.',
          },
        ],
      },
      greeting: { type: 'string', default: 'hello' },
    },
    resource: {
      docker_network: {
        net: { '//': { metadata: { path: 'e2e/net' } }, name: net, driver: 'bridge', labels: [{ label: 'fixture', value: prefix }] },
      },
      docker_image: { base: { name: image, keep_locally: true } },
      docker_container: {
        app: {
          '//': { metadata: { path: 'e2e/app' } },
          count: '${var.replicas}',
          name: `${prefix}-app-\${count.index + 1}`,
          hostname: `${prefix}-app-\${count.index + 1}`,
          image: '${docker_image.base.image_id}',
          // Printing the uploaded file first proves it was there when the process started.
          command: ['sh', '-c', 'cat /srv/greeting.txt; exec httpd -f -p 8080 -h /srv'],
          init: true,
          env: ['GREETING=${var.greeting}'],
          labels: [
            { label: 'fixture', value: prefix },
            { label: 'role', value: 'app' },
          ],
          networks_advanced: [{ name: '${docker_network.net.name}', aliases: [alias] }],
          upload: [{ file: '/srv/greeting.txt', content: '${var.greeting} from replica ${count.index + 1}\n' }],
          destroy_grace_seconds: 5,
          restart: 'unless-stopped',
        },
        probe: {
          name: probe,
          image: '${docker_image.base.image_id}',
          command: ['sleep', '3600'],
          init: true,
          networks_advanced: [{ name: '${docker_network.net.id}' }],
          labels: [{ label: 'fixture', value: prefix }],
          // Healthy once the replicas answer on their shared alias; `wait` holds the apply until then.
          healthcheck: { test: ['CMD-SHELL', `wget -q -O /dev/null http://${alias}:8080/greeting.txt`], interval: '1s', timeout: '2s', retries: 30 },
          wait: true,
          wait_timeout: 60,
          destroy_grace_seconds: 1,
          depends_on: ['docker_container.app'],
        },
      },
    },
    output: {
      replica_names: { value: '${docker_container.app[*].name}' },
      network: { value: '${docker_network.net.id}' },
      first_hostname: { value: '${docker_container.app[0].hostname}' },
    },
  };
}

async function inspect(name: string, format: string): Promise<string> {
  return docker(['container', 'inspect', '--format', format, name]);
}

async function labelled(kind: 'container' | 'network', label: string): Promise<string[]> {
  const out = await docker([
    kind,
    'ls',
    ...(kind === 'container' ? ['--all'] : []),
    '--filter',
    `label=${label}`,
    '--format',
    kind === 'container' ? '{{.Names}}' : '{{.Name}}',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

const ids = (r: ApplyResult): Record<string, string> => Object.fromEntries([...r.containers].map(([name, c]) => [name, c.id]));

describeE2E('local apply: terraform evaluates, the docker CLI realizes', () => {
  const lines: string[] = [];
  let la: LocalApply;
  let json: object;
  let last: ApplyResult;

  beforeAll(async () => {
    json = fixture(await busyboxImage());
    la = LocalApply.fromJson(json, { log: (l) => lines.push(l) });
  }, 120000);

  afterAll(async () => {
    // Leaves nothing behind when a test failed half-way.
    await la?.destroy().catch(() => undefined);
    for (const name of [probe, ...[1, 2, 3, 4, 5, 6].map(app)]) await runDocker(['container', 'rm', '--force', name]);
    await runDocker(['network', 'rm', net]);
  });

  test('apply creates the replicas on the network under the alias, with the upload in place at start', async () => {
    last = await la.apply({ replicas: 3 });

    expect(last.outputs).toEqual({ replica_names: [app(1), app(2), app(3)], network: net, first_hostname: app(1) });
    expect([...last.containers.keys()].sort()).toEqual([app(1), app(2), app(3), probe]);
    expect(await labelled('container', deploymentLabel(la.deployment))).toEqual([app(1), app(2), app(3), probe]);
    expect(await labelled('network', deploymentLabel(la.deployment))).toEqual([net]);

    for (const n of [1, 2, 3]) {
      expect(await inspect(app(n), '{{.State.Running}}')).toBe('true');
      expect(await inspect(app(n), `{{json (index .NetworkSettings.Networks "${net}").Aliases}}`)).toContain(`"${alias}"`);
      expect(await inspect(app(n), '{{index .Config.Labels "fixture"}}')).toBe(prefix);
      expect(await docker(['container', 'logs', app(n)])).toBe(`hello from replica ${n}`);
    }
    expect(await docker(['container', 'exec', app(1), 'stat', '-c', '%a %U', '/srv/greeting.txt'])).toBe('644 root');
    // The probe resolves the alias through Docker's DNS and reaches a replica.
    expect(await docker(['container', 'exec', probe, 'wget', '-q', '-O', '-', `http://${alias}:8080/greeting.txt`])).toMatch(/^hello from replica [123]$/);
    expect(await inspect(probe, '{{.State.Health.Status}}')).toBe('healthy');
  });

  test('scaling up creates the new replicas and keeps the existing containers', async () => {
    const before = ids(last);
    lines.length = 0;
    last = await la.apply({ replicas: 5 });

    const after = ids(last);
    for (const name of [app(1), app(2), app(3), probe]) expect(after[name]).toBe(before[name]);
    expect(Object.keys(after).sort()).toEqual([app(1), app(2), app(3), app(4), app(5), probe]);
    expect(lines).toEqual(expect.arrayContaining([`created ${app(4)}`, `created ${app(5)}`, `kept ${app(1)} (unchanged)`, `kept ${probe} (unchanged)`]));
    expect(await docker(['container', 'logs', app(5)])).toBe('hello from replica 5');
  });

  test('scaling down removes the surplus replicas and keeps the rest', async () => {
    const before = ids(last);
    lines.length = 0;
    last = await la.apply({ replicas: 2 });

    expect(ids(last)).toEqual({ [app(1)]: before[app(1)], [app(2)]: before[app(2)], [probe]: before[probe] });
    expect(await labelled('container', deploymentLabel(la.deployment))).toEqual([app(1), app(2), probe]);
    // Terraform planned each surplus replica as ["delete"]; the log says so.
    expect(lines).toEqual(expect.arrayContaining([`removed ${app(3)} (planned delete)`, `removed ${app(5)} (planned delete)`]));
  });

  test('a changed attribute recreates the containers it reaches, and only those', async () => {
    const before = ids(last);
    last = await la.apply({ replicas: 2, greeting: 'bonjour' });

    const after = ids(last);
    expect(after[app(1)]).not.toBe(before[app(1)]);
    expect(after[app(2)]).not.toBe(before[app(2)]);
    expect(after[probe]).toBe(before[probe]);
    expect(await docker(['container', 'logs', app(1)])).toBe('bonjour from replica 1');
    expect(await inspect(app(2), '{{json .Config.Env}}')).toContain('"GREETING=bonjour"');
  });

  test("a failing variable validation rejects with Terraform's own message and changes nothing", async () => {
    const before = ids(last);
    await expect(la.apply({ replicas: 9 })).rejects.toThrow('replicas must be from 1 to 6, got 9.');
    const still = await Promise.all(Object.keys(before).map((name) => inspect(name, '{{.Id}}')));
    expect(still).toEqual(Object.values(before));
  });

  test('another LocalApply on the same work dir finds the same containers and keeps them', async () => {
    const before = ids(last);
    const again = LocalApply.fromJson(json, { workDir: la.workDir });
    expect(again.deployment).toBe(la.deployment);
    expect(ids(await again.apply({ replicas: 2, greeting: 'bonjour' }))).toEqual(before);
  });

  test('destroy leaves nothing labelled', async () => {
    await la.destroy();
    expect(await labelled('container', deploymentLabel(la.deployment))).toEqual([]);
    expect(await labelled('network', deploymentLabel(la.deployment))).toEqual([]);
  });
});

describeE2E('local apply: more of the container schema, images built, refusals', () => {
  const p = `${prefix}-x`;
  const built = `${p}-built:1`;
  let context: string;
  let la: LocalApply;
  let base: string;

  function stack(): object {
    return {
      terraform: { required_providers: { docker: { source: 'kreuzwerker/docker', version: '3.6.2' } } },
      provider: { docker: [{}] },
      resource: {
        docker_network: {
          a: { name: `${p}-a` },
          b: { name: `${p}-b`, internal: true, attachable: true },
        },
        docker_volume: { data: { name: `${p}-data`, labels: [{ label: 'fixture', value: p }] } },
        docker_image: {
          built: { name: built, build: { context, dockerfile: 'Dockerfile.test', build_args: { GREETING: 'built' }, label: { fixture: p } } },
        },
        docker_container: {
          svc: {
            name: `${p}-svc`,
            hostname: 'svc',
            image: '${docker_image.built.image_id}',
            entrypoint: ['/bin/sh', '-c'],
            command: ['/opt/tools/run.sh'],
            init: true,
            env: ['A=1'],
            working_dir: '/data',
            memory: 64,
            restart: 'on-failure',
            max_retry_count: 2,
            security_opts: ['no-new-privileges'],
            capabilities: { drop: ['NET_RAW'] },
            log_driver: 'json-file',
            log_opts: { 'max-size': '1m' },
            tmpfs: { '/run/x': 'size=1m' },
            ports: [{ internal: 8080 }],
            volumes: [{ volume_name: '${docker_volume.data.name}', container_path: '/data' }],
            mounts: [{ type: 'tmpfs', target: '/scratch', tmpfs_options: { size_bytes: 1048576 } }],
            networks_advanced: [
              { name: '${docker_network.a.name}', aliases: ['svc-a'] },
              { name: '${docker_network.b.id}', aliases: ['svc-b'] },
            ],
            upload: [
              // Into a directory the image does not have: the tar creates it, as the provider's does.
              { file: '/opt/tools/run.sh', content: '#!/bin/sh\ncat /v.txt\nexec sleep 3600\n', executable: true },
              { file: '/etc/secret.txt', content_base64: Buffer.from('s3cret').toString('base64'), permissions: '0600' },
            ],
            healthcheck: { test: ['CMD', 'test', '-f', '/v.txt'], interval: '1s', retries: 10 },
            wait: true,
            destroy_grace_seconds: 1,
          },
        },
      },
    };
  }

  beforeAll(async () => {
    base = await busyboxImage();
    context = await fs.mkdtemp(path.join(os.tmpdir(), 'local-apply-ctx-'));
    await fs.writeFile(path.join(context, 'Dockerfile.test'), `FROM ${base}\nARG GREETING=none\nRUN echo "v=$GREETING" > /v.txt\n`);
    la = LocalApply.fromJson(stack());
  }, 120000);

  afterAll(async () => {
    await la?.destroy({ volumes: true }).catch(() => undefined);
    await runDocker(['image', 'rm', built]);
    if (context) await fs.rm(context, { recursive: true, force: true });
  });

  test('builds the image and creates the container as declared', async () => {
    const { containers } = await la.apply();
    const svc = `${p}-svc`;
    expect([...containers.keys()]).toEqual([svc]);

    expect(await inspect(svc, '{{.State.Health.Status}}')).toBe('healthy');
    expect(await docker(['container', 'logs', svc])).toBe('v=built');
    expect(await docker(['image', 'inspect', '--format', '{{index .Config.Labels "fixture"}}', built])).toBe(p);
    expect(await docker(['container', 'exec', svc, 'stat', '-c', '%a', '/opt/tools/run.sh', '/etc/secret.txt'])).toBe('744\n600');
    expect(await docker(['container', 'exec', svc, 'cat', '/etc/secret.txt'])).toBe('s3cret');

    expect(JSON.parse(await inspect(svc, '{{json .NetworkSettings.Networks}}'))).toMatchObject({
      [`${p}-a`]: { Aliases: expect.arrayContaining(['svc-a']) },
      [`${p}-b`]: { Aliases: expect.arrayContaining(['svc-b']) },
    });
    expect(JSON.parse(await inspect(svc, '{{json .HostConfig}}'))).toMatchObject({
      Memory: 64 * 1024 * 1024,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
      SecurityOpt: ['no-new-privileges'],
      CapDrop: [expect.stringMatching(/^(CAP_)?NET_RAW$/)], // the CLI adds the CAP_ prefix
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
      Tmpfs: { '/run/x': 'size=1m' },
      Init: true,
    });
    expect(JSON.parse(await inspect(svc, '{{json .Config}}'))).toMatchObject({
      Hostname: 'svc',
      WorkingDir: '/data',
      Entrypoint: ['/bin/sh'],
      Cmd: ['-c', '/opt/tools/run.sh'],
      Healthcheck: { Test: ['CMD-SHELL', 'test -f /v.txt'] },
    });
    const mounts = JSON.parse(await inspect(svc, '{{json .Mounts}}')) as { Type: string; Name?: string; Destination: string }[];
    expect(mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Type: 'volume', Name: `${p}-data`, Destination: '/data' }),
        expect.objectContaining({ Type: 'tmpfs', Destination: '/scratch' }),
      ]),
    );
    expect(await docker(['container', 'port', svc, '8080/tcp'])).toMatch(/:\d+$/m);
  });

  test('re-applying an unchanged stack rebuilds from cache and keeps the container', async () => {
    const id = await inspect(`${p}-svc`, '{{.Id}}');
    const { containers } = await la.apply();
    expect(containers.get(`${p}-svc`)?.id).toBe(id);
  });

  test('refuses, before Terraform runs, an attribute it does not implement', () => {
    const json = stack() as { resource: { docker_container: { svc: Record<string, unknown> } } };
    json.resource.docker_container.svc.gpus = 'all';
    expect(() => LocalApply.fromJson(json)).toThrow('local-apply: docker_container.svc sets `gpus`, which this harness does not implement');
  });

  test('an image that is not present locally fails the apply with a clear message', async () => {
    const missing = LocalApply.fromJson({ resource: { docker_image: { gone: { name: `${p}-absent:1` } } } });
    await expect(missing.apply()).rejects.toThrow(`image ${p}-absent:1 is not present locally; build it first`);
    await missing.destroy();
  });

  test('destroy({ volumes: true }) removes the volume too; the built image stays', async () => {
    await la.destroy({ volumes: true });
    expect(await docker(['volume', 'ls', '--quiet', '--filter', `label=${deploymentLabel(la.deployment)}`])).toBe('');
    expect(await labelled('network', deploymentLabel(la.deployment))).toEqual([]);
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', built])).toMatch(/^sha256:/);
  });
});
