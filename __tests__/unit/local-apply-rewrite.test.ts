// The pure halves of the local apply (__tests__/support/local-apply/): the rewrite of a
// synthesized stack into terraform_data resources, and the translation of evaluated
// attributes into docker CLI arguments, with their refusals.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  ContainerSpec,
  EvaluatedInstance,
  JsonObject,
  LocalApply,
  assertImplemented,
  buildSpec,
  plannedActions,
  removalStep,
  rewriteForTerraformData,
  rewriteWithGraph,
  tarOf,
} from '../support/local-apply';

function stack(resources: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    '//': { metadata: { stackName: 'test' } },
    terraform: {
      required_providers: { docker: { source: 'kreuzwerker/docker', version: '3.6.2' } },
      backend: { local: { path: '/somewhere/terraform.test.tfstate' } },
    },
    provider: { docker: [{ host: 'unix:///var/run/docker.sock' }] },
    variable: {
      replicas: {
        type: 'number',
        default: 3,
        validation: [{ condition: '${var.replicas >= 1}', error_message: 'replicas must be >= 1, got ${var.replicas}.' }],
      },
    },
    resource: resources,
    ...extra,
  };
}

const base = {
  docker_network: { net: { '//': { metadata: { path: 'test/net' } }, name: 'test-net', driver: 'bridge' } },
  docker_image: { app: { name: 'app:1', keep_locally: true } },
};

/** The rewritten terraform_data resource `name`. */
function data(out: JsonObject, name: string): JsonObject {
  const resource = out.resource as JsonObject;
  return (resource.terraform_data as JsonObject)[name] as JsonObject;
}

describe('rewriteForTerraformData', () => {
  test('turns each docker resource into terraform_data <type>__<name> holding its attributes', () => {
    const out = rewriteForTerraformData(
      stack({
        ...base,
        docker_container: {
          app: {
            '//': { metadata: { path: 'test/app' } },
            count: '${var.replicas}',
            provider: 'docker',
            depends_on: ['docker_network.net'],
            lifecycle: { prevent_destroy: false },
            name: 'app-${count.index + 1}',
            image: 'app:1',
            env: ['A=1'],
          },
        },
      }),
    );
    const input = { name: 'app-${count.index + 1}', image: 'app:1', env: ['A=1'] };
    expect(data(out, 'docker_container__app')).toEqual({
      input,
      triggers_replace: input,
      count: '${var.replicas}',
      depends_on: ['terraform_data.docker_network__net'],
      lifecycle: { prevent_destroy: false },
    });
    const network = { name: 'test-net', driver: 'bridge' };
    expect(data(out, 'docker_network__net')).toEqual({ input: network, triggers_replace: network });
    expect((out.resource as JsonObject).docker_container).toBeUndefined();
  });

  test("keeps a pg backend, Terraform's own, so that the state goes where cdktf deploy would put it", () => {
    const out = rewriteForTerraformData(stack(base, { terraform: { backend: { pg: { schema_name: 'wayshub_staging' } } } }));
    expect(out.terraform).toEqual({ backend: { pg: { schema_name: 'wayshub_staging' } } });
  });

  test('drops the docker provider, its requirement and the backend; keeps variables, validation, locals', () => {
    const out = rewriteForTerraformData(stack(base, { locals: { net: '${docker_network.net.name}' } }));
    expect(out.provider).toBeUndefined();
    expect(out.terraform).toBeUndefined();
    expect(out.variable).toEqual(stack({}).variable);
    expect(out.locals).toEqual({ net: '${terraform_data.docker_network__net.output.name}' });
    expect(out['//']).toEqual({ metadata: { stackName: 'test' } });
  });

  test('keeps other providers and requirements', () => {
    const json = stack(base);
    (json.terraform as JsonObject).required_providers = { docker: {}, random: { source: 'hashicorp/random' } };
    json.provider = { docker: [{}], random: [{}] };
    const out = rewriteForTerraformData(json);
    expect(out.terraform).toEqual({ required_providers: { random: { source: 'hashicorp/random' } } });
    expect(out.provider).toEqual({ random: [{}] });
  });

  describe('rewrites references inside interpolations', () => {
    const cases: [string, string][] = [
      ['${docker_network.net.name}', '${terraform_data.docker_network__net.output.name}'],
      ['${upper(docker_network.net.name)}-x', '${upper(terraform_data.docker_network__net.output.name)}-x'],
      ['${docker_container.app[*].name}', '${terraform_data.docker_container__app[*].output.name}'],
      ['${docker_container.app.*.name}', '${terraform_data.docker_container__app.*.output.name}'],
      ['${docker_container.app[0].name}', '${terraform_data.docker_container__app[0].output.name}'],
      ['${docker_container.app[count.index].env[0]}', '${terraform_data.docker_container__app[count.index].output.env[0]}'],
      ['${length(docker_container.app)}', '${length(terraform_data.docker_container__app)}'],
      [
        '${join(",", [for n in docker_container.app[*].name : "${n}:${docker_network.net.name}"])}',
        '${join(",", [for n in terraform_data.docker_container__app[*].output.name : "${n}:${terraform_data.docker_network__net.output.name}"])}',
      ],
      ['%{ for n in docker_container.app[*].name }${n} %{ endfor }', '%{ for n in terraform_data.docker_container__app[*].output.name }${n} %{ endfor }'],
      ['${(count.index + 1) * 2}', '${(count.index + 1) * 2}'],
    ];
    test.each(cases)('%s', (template, expected) => {
      const out = rewriteForTerraformData(
        stack(
          { ...base, docker_container: { app: { count: 2, name: 'a-${count.index}', image: 'app:1', env: ['A=1'] } } },
          { output: { o: { value: template } } },
        ),
      );
      expect((out.output as JsonObject).o).toEqual({ value: expected });
    });

    test('leaves literal text and escaped interpolations alone', () => {
      const out = rewriteForTerraformData(
        stack(base, {
          output: { o: { value: 'docker_network.net.name $${docker_network.net.name} "${docker_network.net.driver}"' } },
        }),
      );
      expect((out.output as JsonObject).o).toEqual({
        value: 'docker_network.net.name $${docker_network.net.name} "${terraform_data.docker_network__net.output.driver}"',
      });
    });
  });

  test('answers provider-computed ids with the name the resource sets', () => {
    const out = rewriteForTerraformData(
      stack(
        {
          ...base,
          docker_container: {
            app: {
              name: 'app',
              image: '${docker_image.app.image_id}',
              networks_advanced: [{ name: '${docker_network.net.id}' }],
            },
          },
        },
        { output: { id: { value: '${docker_container.app.id}' } } },
      ),
    );
    expect(data(out, 'docker_container__app').input).toEqual({
      name: 'app',
      image: '${terraform_data.docker_image__app.output.name}',
      networks_advanced: [{ name: '${terraform_data.docker_network__net.output.name}' }],
    });
    expect((out.output as JsonObject).id).toEqual({ value: '${terraform_data.docker_container__app.output.name}' });
  });

  test('refuses a reference to an attribute the resource does not set, naming it', () => {
    const json = stack(base, { output: { digest: { value: '${docker_image.app.repo_digest}' } } });
    expect(() => rewriteForTerraformData(json)).toThrow(
      'output.digest references docker_image.app.repo_digest, but docker_image.app does not set `repo_digest`',
    );
  });

  test('refuses a reference to a docker resource the stack does not declare', () => {
    const json = stack(base, { output: { x: { value: '${docker_container.ghost.name}' } } });
    expect(() => rewriteForTerraformData(json)).toThrow('output.x references docker_container.ghost, which the stack does not declare');
  });

  test('refuses docker data sources', () => {
    const json = stack(base, { data: { docker_network: { bridge: { name: 'bridge' } } } });
    expect(() => rewriteForTerraformData(json)).toThrow('data.docker_network.bridge: docker data sources are not supported');
  });

  test('refuses dynamic blocks, provisioners and top-level modules', () => {
    const dynamic = stack({ docker_container: { c: { name: 'c', image: 'i', dynamic: { ports: { for_each: '${[1]}', content: {} } } } } });
    expect(() => rewriteForTerraformData(dynamic)).toThrow('docker_container.c uses `dynamic`');
    const provisioner = stack({ docker_network: { n: { name: 'n', provisioner: [{ 'local-exec': { command: 'true' } }] } } });
    expect(() => rewriteForTerraformData(provisioner)).toThrow('docker_network.n uses `provisioner`');
    expect(() => rewriteForTerraformData({ ...stack(base), module: { m: { source: './m' } } })).toThrow('top-level `module` blocks');
  });

  test('rewrites lifecycle: ignore_changes into input, self.x into self.output.x, replace_triggered_by', () => {
    const out = rewriteForTerraformData(
      stack({
        ...base,
        docker_container: {
          app: {
            name: 'app',
            image: 'app:1',
            lifecycle: {
              ignore_changes: ['env', 'ports[0].external'],
              replace_triggered_by: ['docker_network.net'],
              postcondition: [{ condition: '${self.name != ""}', error_message: 'no name' }],
            },
          },
        },
      }),
    );
    expect(data(out, 'docker_container__app').lifecycle).toEqual({
      ignore_changes: ['input["env"]', 'input["ports"][0].external'],
      replace_triggered_by: ['terraform_data.docker_network__net'],
      postcondition: [{ condition: '${self.output.name != ""}', error_message: 'no name' }],
    });
    // What is not ignored replaces the container, as the harness recreates it on any change.
    expect(data(out, 'docker_container__app').triggers_replace).toEqual({ name: 'app', image: 'app:1' });
  });

  test('a container, network or volume is replaced when its attributes change (so the plan says so); an image is not', () => {
    const out = rewriteForTerraformData(stack(base));
    expect(data(out, 'docker_network__net').triggers_replace).toEqual(data(out, 'docker_network__net').input);
    expect(data(out, 'docker_image__app').triggers_replace).toBeUndefined();
  });

  test('rewrites non-docker resources and outputs too, depends_on included', () => {
    const out = rewriteForTerraformData(
      stack(
        {
          ...base,
          terraform_data: { marker: { input: '${docker_network.net.name}', depends_on: ['docker_image.app'] } },
        },
        {
          output: { n: { value: 'x', depends_on: ['docker_network.net'] } },
          data: { terraform_remote_state: { s: { backend: 'local', config: { path: '${docker_network.net.name}.tfstate' } } } },
        },
      ),
    );
    expect((out.output as JsonObject).n).toEqual({ value: 'x', depends_on: ['terraform_data.docker_network__net'] });
    expect(data(out, 'marker')).toEqual({
      input: '${terraform_data.docker_network__net.output.name}',
      depends_on: ['terraform_data.docker_image__app'],
    });
    expect(out.data).toEqual({
      terraform_remote_state: { s: { backend: 'local', config: { path: '${terraform_data.docker_network__net.output.name}.tfstate' } } },
    });
  });

  test('records what each docker resource depends on, explicitly and by reference', () => {
    const { resources } = rewriteWithGraph(
      stack({
        ...base,
        docker_container: {
          app: { name: 'app', image: '${docker_image.app.image_id}', networks_advanced: [{ name: '${docker_network.net.name}' }] },
          proxy: { name: 'proxy', image: 'nginx', depends_on: ['docker_container.app'] },
        },
      }),
    );
    const deps = Object.fromEntries(resources.map((r) => [r.address, r.dependsOn]));
    expect(deps).toEqual({
      'docker_network.net': [],
      'docker_image.app': [],
      'docker_container.app': ['docker_image.app', 'docker_network.net'],
      'docker_container.proxy': ['docker_container.app'],
    });
  });
});

// ------------------------------------------------------------- realize plan

function container(attrs: JsonObject): ContainerSpec {
  const inst: EvaluatedInstance = { type: 'docker_container', resource: 'docker_container.app', address: 'docker_container.app[0]', attrs };
  const spec = buildSpec(inst, '/stack');
  if (spec.kind !== 'container') throw new Error('expected a container');
  return spec;
}

describe('a postcondition on exit_code', () => {
  const job = (condition: string, message = 'the job failed') =>
    stack({
      ...base,
      docker_container: {
        job: {
          name: 'job',
          image: '${docker_image.app.image_id}',
          attach: true,
          must_run: false,
          lifecycle: { postcondition: [{ condition, error_message: message }] },
        },
      },
    });

  test('self.exit_code == 0 is taken off Terraform and left to the engine side', () => {
    const r = rewriteWithGraph(job('${self.exit_code == 0}'));
    expect(data(r.json, 'docker_container__job').lifecycle).toEqual({});
    expect(r.resources.find((x) => x.address === 'docker_container.job')?.exitCodeCheck).toBe('the job failed');
  });

  test('any other use of exit_code is refused', () => {
    expect(() => rewriteWithGraph(job('${self.exit_code < 2}'))).toThrow(
      'local-apply: docker_container.job: only a postcondition "${self.exit_code == 0}" (or the same in the apply that created it) with a plain error_message is implemented for exit_code',
    );
  });
});

describe('docker specs from evaluated attributes', () => {
  test('a container: CLI arguments, first network at create, the rest connected before start', () => {
    const spec = container({
      name: 'app-1',
      image: 'app:1',
      hostname: 'app-1',
      env: ['A=1', 'B=2'],
      command: ['serve', '--port', '3000'],
      entrypoint: ['/sbin/tini', '--'],
      labels: [{ label: 'role', value: 'app' }],
      restart: 'unless-stopped',
      memory: 256,
      memory_swap: -1,
      read_only: true,
      init: false,
      tmpfs: { '/tmp': 'rw,size=64m', '/run': '' },
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      healthcheck: [{ test: ['CMD-SHELL', 'wget -qO- http://127.0.0.1:3000/'], interval: '5s', timeout: '2s', start_period: '0s', retries: 3 }],
      ports: [
        { internal: 80, external: 8080 },
        { internal: 53, protocol: 'udp', ip: '::1' },
      ],
      networks_advanced: [
        { name: 'net-a', aliases: ['app'] },
        { name: 'net-b', aliases: ['x', 'y'], ipv4_address: '10.0.0.5' },
      ],
      upload: [
        { file: '/etc/app.conf', content: 'x=1\n' },
        { file: '/bin/run', content_base64: 'ZWNobw==', executable: true },
      ],
      destroy_grace_seconds: 3,
      must_run: true,
      start: null,
    });
    expect(spec.createArgs).toEqual([
      '--hostname',
      'app-1',
      '--read-only',
      '--env',
      'A=1',
      '--env',
      'B=2',
      '--memory',
      '256m',
      '--memory-swap',
      '-1',
      '--restart',
      'unless-stopped',
      '--label',
      'role=app',
      '--tmpfs',
      '/tmp:rw,size=64m',
      '--tmpfs',
      '/run',
      '--cap-add',
      'NET_BIND_SERVICE',
      '--cap-drop',
      'ALL',
      '--publish',
      '0.0.0.0:8080:80/tcp',
      '--publish',
      '[::1]::53/udp',
      '--health-cmd',
      'wget -qO- http://127.0.0.1:3000/',
      '--health-interval',
      '5s',
      '--health-timeout',
      '2s',
      '--health-retries',
      '3',
      '--network',
      'net-a',
      '--network-alias',
      'app',
      '--entrypoint',
      '/sbin/tini',
    ]);
    expect(spec.commandArgs).toEqual(['--', 'serve', '--port', '3000']);
    expect(spec.extraNetworks).toEqual([{ name: 'net-b', aliases: ['x', 'y'], ipv4: '10.0.0.5', ipv6: undefined }]);
    expect(spec.networks).toEqual(['net-a', 'net-b']);
    expect(spec.uploads).toEqual([
      { file: '/etc/app.conf', mode: 0o644, content: Buffer.from('x=1\n') },
      { file: '/bin/run', mode: 0o744, content: Buffer.from('echo') },
    ]);
    expect({ start: spec.start, mustRun: spec.mustRun, grace: spec.destroyGraceSeconds }).toEqual({ start: true, mustRun: true, grace: 3 });
  });

  test('refuses an attribute it does not implement, naming type and attribute', () => {
    expect(() => container({ name: 'a', image: 'i', gpus: 'all' })).toThrow(
      'local-apply: docker_container.app[0] sets `gpus`, which this harness does not implement',
    );
    expect(() => container({ name: 'a', image: 'i', ports: [{ internal: 80, bogus: 1 }] })).toThrow('sets `ports[0].bogus`');
    expect(() => container({ name: 'a', image: 'i', healthcheck: { test: ['CMD', 'true'], start_interval: '1s' } })).toThrow(
      'sets `healthcheck.start_interval`',
    );
  });

  test('ignores attributes left at their zero value', () => {
    expect(() => container({ name: 'a', image: 'i', gpus: null, attach: false, logs: false, devices: [], sysctls: {} })).not.toThrow();
  });

  test('refuses unknown resource types and attributes before Terraform runs', () => {
    expect(() => assertImplemented('docker_plugin', 'docker_plugin.p', ['name'])).toThrow(
      'docker_plugin.p: resource type docker_plugin is not implemented by this harness',
    );
    expect(() => assertImplemented('docker_container', 'docker_container.proxy', ['name', 'image', 'gpus'])).toThrow(
      'local-apply: docker_container.proxy sets `gpus`, which this harness does not implement',
    );
    expect(() => assertImplemented('docker_container', 'docker_container.proxy', ['name', 'image', 'upload', 'healthcheck'])).not.toThrow();
  });

  test('an image without build must exist; with build it becomes docker build arguments', () => {
    const spec = buildSpec(
      {
        type: 'docker_image',
        resource: 'docker_image.app',
        address: 'docker_image.app',
        attrs: {
          name: 'app:1',
          keep_locally: true,
          build: { context: 'app', dockerfile: 'Dockerfile.prod', build_args: { V: '2' }, tag: ['app:latest'], label: { a: 'b' } },
        },
      },
      '/stack',
    );
    expect(spec).toMatchObject({
      kind: 'image',
      build: { context: '/stack/app', args: ['-t', 'app:1', '-t', 'app:latest', '-f', '/stack/app/Dockerfile.prod', '--build-arg', 'V=2', '--label', 'a=b'] },
    });
    expect(() =>
      buildSpec({ type: 'docker_image', resource: 'docker_image.x', address: 'docker_image.x', attrs: { name: 'x', platform: 'linux/arm64' } }, '/'),
    ).toThrow('docker_image.x sets `platform`');
  });

  test('a network and a volume', () => {
    expect(
      buildSpec(
        {
          type: 'docker_network',
          resource: 'docker_network.n',
          address: 'docker_network.n',
          attrs: {
            name: 'n',
            driver: 'bridge',
            internal: true,
            attachable: false,
            labels: [{ label: 'k', value: 'v' }],
            options: { 'com.docker.network.bridge.enable_icc': 'true' },
          },
        },
        '/',
      ),
    ).toMatchObject({ name: 'n', createArgs: ['--driver', 'bridge', '--internal', '--opt', 'com.docker.network.bridge.enable_icc=true', '--label', 'k=v'] });
    expect(
      buildSpec(
        {
          type: 'docker_volume',
          resource: 'docker_volume.v',
          address: 'docker_volume.v',
          attrs: { name: 'v', driver: 'local', labels: [{ label: 'k', value: 'v' }] },
        },
        '/',
      ),
    ).toMatchObject({ name: 'v', createArgs: ['--driver', 'local', '--label', 'k=v'] });
  });
});

describe('upload tar', () => {
  test('one ustar entry per file under its full path, root-owned, padded to 512-byte blocks', () => {
    const tar = tarOf([{ path: '/etc/nginx/nginx.conf', mode: 0o644, content: Buffer.from('hello') }], 0);
    expect(tar.length).toBe(512 + 512 + 1024);
    expect(tar.subarray(0, 21).toString()).toBe('etc/nginx/nginx.conf\u0000'.slice(0, 21));
    expect(tar.subarray(100, 107).toString()).toBe('0000644');
    expect(tar.subarray(124, 135).toString()).toBe('00000000005');
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
    expect(tar.subarray(512, 517).toString()).toBe('hello');
    let sum = 0;
    tar.subarray(0, 512).forEach((b, i) => {
      sum += i >= 148 && i < 156 ? 0x20 : b;
    });
    expect(parseInt(tar.subarray(148, 154).toString(), 8)).toBe(sum);
  });
});

describe('create_before_destroy', () => {
  const withLifecycle = (type: string, body: JsonObject) => stack({ [type]: { x: { ...body, lifecycle: { create_before_destroy: true } } } });

  test('is realized for containers (new ones first, the replaced ones removed after every container is up)', () => {
    const json = withLifecycle('docker_container', { name: 'app-${terraform_data.rev.id}', image: 'app:1' });
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wayshub-unit-cbd-'));
    try {
      expect(LocalApply.fromJson(json, { workDir })).toBeInstanceOf(LocalApply);
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
    const rewritten = rewriteForTerraformData(json) as { resource: { terraform_data: Record<string, { lifecycle?: JsonObject }> } };
    expect(rewritten.resource.terraform_data.docker_container__x.lifecycle).toEqual({ create_before_destroy: true });
  });

  test('is refused for networks and volumes, which the harness replaces by remove, then create', () => {
    expect(() => LocalApply.fromJson(withLifecycle('docker_network', { name: 'net' }))).toThrow(
      'local-apply: docker_network.x sets lifecycle.create_before_destroy, which this harness realizes for containers only',
    );
  });
});

describe("the order of removals follows Terraform's plan", () => {
  // `terraform show -json` of a saved plan, as Terraform 1.11 writes it for a stack rewritten by
  // the harness: the app (create_before_destroy) goes from 3 replicas of v1 to 2 of v2, and the
  // database (no create_before_destroy) changes image.
  const plan: JsonObject = {
    format_version: '1.2',
    resource_changes: [
      {
        address: 'terraform_data.docker_container__app[0]',
        index: 0,
        change: { actions: ['create', 'delete'] },
        action_reason: 'replace_because_cannot_update',
      },
      {
        address: 'terraform_data.docker_container__app[1]',
        index: 1,
        change: { actions: ['create', 'delete'] },
        action_reason: 'replace_because_cannot_update',
      },
      { address: 'terraform_data.docker_container__app[2]', index: 2, change: { actions: ['delete'] }, action_reason: 'delete_because_count_index' },
      { address: 'terraform_data.docker_container__db', change: { actions: ['delete', 'create'] }, action_reason: 'replace_because_cannot_update' },
      { address: 'terraform_data.docker_container__db', deposed: '00000001', change: { actions: ['delete'] } },
      { address: 'terraform_data.docker_network__net', change: { actions: ['no-op'] } },
      { address: 'terraform_data.marker', change: { actions: ['update'] } },
    ],
  };
  const { resources } = rewriteWithGraph(
    stack({ ...base, docker_container: { app: { name: 'app', image: 'app:1', count: 3 }, db: { name: 'db', image: 'db:1' } } }),
  );
  const planned = plannedActions(plan, resources);
  const createBeforeDestroy = new Set(['docker_container.app']);

  test('reads the actions of each docker instance by its docker address, and nothing else', () => {
    expect(Object.fromEntries(planned)).toEqual({
      'docker_container.app[0]': ['create', 'delete'],
      'docker_container.app[1]': ['create', 'delete'],
      'docker_container.app[2]': ['delete'],
      'docker_container.db': ['delete', 'create'],
      'docker_network.net': ['no-op'],
    });
  });

  test('["create","delete"]: the old container goes after every new one is up', () => {
    expect(removalStep('docker_container.app[0]', planned, createBeforeDestroy)).toBe('after creating');
  });

  test('["delete","create"]: the old container goes before anything is created', () => {
    expect(removalStep('docker_container.db', planned, createBeforeDestroy)).toBe('before creating');
  });

  test('a delete alone goes after the creates when its resource has create_before_destroy, before them otherwise', () => {
    expect(removalStep('docker_container.app[2]', planned, createBeforeDestroy)).toBe('after creating');
    expect(removalStep('docker_container.app[2]', planned, new Set())).toBe('before creating');
  });

  test('a container the plan does not name (left over from an earlier run) goes first', () => {
    expect(removalStep('docker_container.app[7]', planned, createBeforeDestroy)).toBe('before creating');
    expect(removalStep(undefined, planned, createBeforeDestroy)).toBe('before creating');
  });
});
