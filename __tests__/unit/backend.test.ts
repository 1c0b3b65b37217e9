// The optional backend (wayshub-backend) at api.<domain>, with its own replica count.
import { SettingsError, resolveSettings, withEnvironment } from '../../constructs/settings';
import { Container } from '../../constructs/docker/provider';
import { synthStack, uploadedFiles } from '../support/synth';

describe('without a backend image', () => {
  test('there is no backend: no variable, no containers, no API site', () => {
    const { json } = synthStack();
    expect(json.variable.backend_replicas).toBeUndefined();
    expect(json.resource.docker_container.api).toBeUndefined();
    expect(json.output.api_url).toBeUndefined();
    expect(json.resource.docker_container.app.env).toEqual(['WAYSHUB_DRAIN_SECONDS=30']);
  });
});

describe('with WAYSHUB_BACKEND_IMAGE', () => {
  const { json, text } = synthStack(withEnvironment({ domain: 'alvin.xyz' }, { WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1' }));

  test('a backend_replicas variable: number, default 2, whole and 1..20', () => {
    expect(json.variable.backend_replicas).toMatchObject({
      type: 'number',
      default: 2,
      validation: [
        {
          condition: '${var.backend_replicas >= 1 && var.backend_replicas <= 20 && floor(var.backend_replicas) == var.backend_replicas}',
          error_message: 'backend_replicas must be a whole number from 1 to 20, got ${var.backend_replicas}.',
        },
      ],
    });
  });

  test('backend replicas counted by it, behind their own alias, on port 5000', () => {
    const backend = json.resource.docker_container.api;
    expect(backend.count).toBe('${var.backend_replicas}');
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-backend-${formatdate("YYMMDDhhmmss", plantimestamp())}-${(count.index + 1)}',
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['wayshub-backend'] }, { name: '${docker_network.db_network.name}' }],
      healthcheck: expect.objectContaining({ test: ['CMD-SHELL', expect.stringContaining('http://127.0.0.1:5000/')] }),
      capabilities: { drop: ['ALL'] },
    });
    expect(backend.ports).toBeUndefined();
  });

  test('nginx serves api.<domain> from the backend upstream, with the same proxy features', () => {
    const files = uploadedFiles(json);
    expect(files['/etc/nginx/wayshub/upstreams.conf']).toContain('server wayshub-backend:5000 resolve');
    const sites = files['/etc/nginx/wayshub/sites.conf'];
    expect(sites).toMatch(/server_name api\.alvin\.xyz;[\s\S]*proxy_pass http:\/\/wayshub_backend;/);
    expect(sites).toMatch(/server_name alvin\.xyz;[\s\S]*proxy_pass http:\/\/wayshub_app;/);
    expect(sites.match(/error_page 502 504 = @/g)).toHaveLength(2);
  });

  test('the frontend replicas get the public API URL, and the outputs name the API', () => {
    expect(json.resource.docker_container.app.env).toEqual(['REACT_APP_API_URL=http://api.alvin.xyz/api/v1', 'WAYSHUB_DRAIN_SECONDS=30']);
    expect(json.output.api_url.value).toBe('http://api.alvin.xyz/api/v1');
    expect(json.output.backend_replica_names.value).toBe('${docker_container.api[*].name}');
  });

  test('the proxy also answers to the API name inside the network', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['alvin.xyz', 'api.alvin.xyz'] }],
    });
  });

  test('the API takes uploads up to its own limit (100m, a short video), the frontend up to its own', () => {
    // Each server block that takes requests: its name and its limit.
    const limits = (input: Parameters<typeof synthStack>[0]) => {
      const sites = uploadedFiles(synthStack(input).json)['/etc/nginx/wayshub/sites.conf'];
      return sites.split('\nserver {').flatMap((block) => {
        const m = /server_name (\S+);[^]*client_max_body_size (\S+);/.exec(block);
        return m ? [`${m[1]} ${m[2]}`] : [];
      });
    };
    expect(limits({ domain: 'alvin.xyz', backend: { image: 'b:1' } })).toEqual(['alvin.xyz 10m', 'api.alvin.xyz 100m']);
    expect(limits({ domain: 'alvin.xyz', backend: { image: 'b:1', maxBodySize: '2G' }, proxy: { maxBodySize: '1m' } })).toEqual([
      'alvin.xyz 1m',
      'api.alvin.xyz 2g',
    ]);
  });

  test('in maintenance, the API answers JSON and the site a page, and nothing else of the stack changes', () => {
    const off = synthStack({ domain: 'alvin.xyz', backend: { image: 'b:1' } }).json;
    const on = synthStack({ domain: 'alvin.xyz', backend: { image: 'b:1' }, proxy: { maintenance: true } }).json;
    const sites = uploadedFiles(on)['/etc/nginx/wayshub/sites.conf'];
    expect(sites).toMatch(/server_name api\.alvin\.xyz;[^]*default_type application\/json;\s*return 503/);
    // Only the proxy's config differs: a reload, no container replaced.
    const withoutConfig = (j: typeof on) =>
      JSON.stringify({ ...j.resource, docker_container: { ...j.resource.docker_container, proxy_config_loader: undefined } });
    expect(withoutConfig(on)).toBe(withoutConfig(off));
  });

  test("with HTTPS the API is https and Let's Encrypt covers its name", () => {
    const { json: j } = synthStack({
      domain: 'alvin.xyz',
      backend: { image: 'wayshub-backend:1', subdomain: 'backend' },
      tls: { mode: 'letsencrypt', email: 'a@alvin.xyz' },
    });
    expect(j.output.api_url.value).toBe('https://backend.alvin.xyz/api/v1');
    expect(j.resource.docker_container.certbot.env).toContain('WAYSHUB_DOMAINS=alvin.xyz backend.alvin.xyz');
  });
});

describe('bad backend settings', () => {
  test.each<[string, Record<string, string>, string]>([
    [
      'a subdomain with a dot',
      { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_API_SUBDOMAIN: 'api.v1' },
      'invalid backend.subdomain (WAYSHUB_API_SUBDOMAIN): "api.v1"; allowed: one DNS label of a-z, 0-9 and "-", e.g. api',
    ],
    [
      'an upload limit with a unit nginx does not know',
      { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_API_MAX_BODY_SIZE: '100mb' },
      'invalid backend.maxBodySize (WAYSHUB_API_MAX_BODY_SIZE): "100mb"; allowed: a size like 512k, 10m or 1g (digits with an optional k, m or g); 0 for no limit',
    ],
    [
      'a port out of range',
      { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_BACKEND_PORT: '70000' },
      'invalid backend.port (WAYSHUB_BACKEND_PORT): 70000; allowed: a whole number from 1 to 65535',
    ],
    [
      'a malformed image',
      { WAYSHUB_BACKEND_IMAGE: 'Wayshub Backend' },
      'invalid backend.image (WAYSHUB_BACKEND_IMAGE): "Wayshub Backend"; allowed: an image reference like nginx:1.30-alpine, registry.example.com/team/app:1.2 or name@sha256:<digest>',
    ],
    [
      'a build context without a Dockerfile',
      { WAYSHUB_BACKEND_BUILD_CONTEXT: '/nonexistent' },
      'invalid backend.buildContext (WAYSHUB_BACKEND_BUILD_CONTEXT): "/nonexistent"; allowed: a directory that has a Dockerfile',
    ],
  ])('%s', (_name, env, message) => {
    expect(() => resolveSettings(withEnvironment({}, env))).toThrow(SettingsError);
    expect(() => resolveSettings(withEnvironment({}, env))).toThrow(message);
  });

  test('0 backend replicas', () => {
    expect(() => resolveSettings({ backend: { image: 'b:1', replicas: 0 } })).toThrow('invalid backend.replicas: 0; allowed: a whole number from 1 to 20');
  });

  test.each<[string, Record<string, string>, string]>([
    [
      'an expression for a name',
      { WAYSHUB_BACKEND_SECRET_ENV: 'API_KEY,${file("/etc/passwd")}' },
      'invalid backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV): "${file(\\"/etc/passwd\\")}"; allowed: names of letters, digits and "_", not starting with a digit',
    ],
    [
      'a name starting with a digit',
      { WAYSHUB_BACKEND_SECRET_ENV: '1KEY' },
      'invalid backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV): "1KEY"; allowed: names of letters, digits and "_"',
    ],
    [
      'a name the stack sets',
      { WAYSHUB_BACKEND_SECRET_ENV: 'DATABASE_URL' },
      'invalid backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV): "DATABASE_URL"; that variable is set by the stack; allowed: other names than NODE_ENV, JWT_PRIVATE_KEY, DATABASE_URL',
    ],
    [
      'a name twice',
      { WAYSHUB_BACKEND_SECRET_ENV: 'API_KEY,API_KEY' },
      'invalid backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV): "API_KEY"; it is listed twice; allowed: each name once',
    ],
  ])('secret environment: %s', (_name, env, message) => {
    expect(() => resolveSettings(withEnvironment({ backend: { image: 'b:1' } }, env))).toThrow(message);
  });

  test.each<[string, Record<string, string>]>([
    ['NODE_ENV', {}],
    ['JWT_PRIVATE_KEY', { WAYSHUB_DATABASE: 'off' }],
    ['DB_HOST', {}],
  ])('backend.env may not set %s, which the stack sets (which value would win is not defined)', (key, env) => {
    const reserved =
      env.WAYSHUB_DATABASE === 'off' ? 'NODE_ENV, JWT_PRIVATE_KEY' : 'NODE_ENV, JWT_PRIVATE_KEY, DATABASE_URL, DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME';
    expect(() => resolveSettings(withEnvironment({ backend: { image: 'b:1', env: { [key]: 'x' } } }, env))).toThrow(
      new SettingsError('backend.env key', key, `that variable is set by the stack; allowed: other names than ${reserved}`),
    );
  });

  test('secret environment: a name also in backend.env, and too many names', () => {
    expect(() => resolveSettings({ backend: { image: 'b:1', env: { API_KEY: 'x' }, secretEnv: ['API_KEY'] } })).toThrow(
      'invalid backend.secretEnv (WAYSHUB_BACKEND_SECRET_ENV): "API_KEY"; it is also in backend.env; allowed: each name in one of the two',
    );
    const many = Array.from({ length: 21 }, (_, i) => `S${i}`);
    expect(() => resolveSettings({ backend: { image: 'b:1', secretEnv: many } })).toThrow('allowed: a list of at most 20 names');
  });
});

describe('secret environment of the backend (WAYSHUB_BACKEND_SECRET_ENV)', () => {
  const { json, text } = synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_BACKEND_SECRET_ENV: 'CLOUD_NAME, API_KEY,API_SECRET' }));

  test('is one sensitive variable, a JSON object that must have exactly the named keys', () => {
    expect(json.variable.backend_secrets).toMatchObject({ type: 'string', sensitive: true });
    expect(json.resource.docker_image.api_image.lifecycle).toMatchObject({
      precondition: expect.arrayContaining([
        {
          condition:
            '${sort(try(keys(jsondecode(var.backend_secrets)), [])) == sort(["CLOUD_NAME","API_KEY","API_SECRET"]) && alltrue([for v in try(values(jsondecode(var.backend_secrets)), []) : can(tostring(v))])}',
          error_message: 'backend_secrets must be a JSON object of strings with exactly these keys: CLOUD_NAME, API_KEY, API_SECRET.',
        },
      ]),
    });
  });

  test('reaches the backend replicas and the migration job by reference only', () => {
    const refs = ['CLOUD_NAME', 'API_KEY', 'API_SECRET'].map((name) => `${name}=\${try(tostring(jsondecode(var.backend_secrets)["${name}"]), "")}`);
    expect(json.resource.docker_container.api.env).toEqual(expect.arrayContaining(refs));
    expect(json.resource.docker_container.migrate.env).toEqual(expect.arrayContaining(refs));
    expect(json.resource.docker_container.app.env).not.toEqual(expect.arrayContaining([expect.stringMatching(/backend_secrets/)]));
    // Three names, each in the replicas (env is ForceNew: a new secret value replaces them) and in the migration job.
    expect(text.match(/jsondecode\(var\.backend_secrets\)\[/g)?.length).toBe(6);
  });

  test("with WAYSHUB_DATABASE=off, DATABASE_URL of the backend's own database can be a secret", () => {
    const off = synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DATABASE: 'off', WAYSHUB_BACKEND_SECRET_ENV: 'DATABASE_URL' })).json;
    expect(off.resource.docker_container.api.env).toEqual([
      'WAYSHUB_DRAIN_SECONDS=30',
      'NODE_ENV=production',
      'JWT_PRIVATE_KEY=${var.jwt_private_key}',
      'DATABASE_URL=${try(tostring(jsondecode(var.backend_secrets)["DATABASE_URL"]), "")}',
    ]);
    // With the stack's database, DATABASE_URL is the stack's.
    expect(() => resolveSettings(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_BACKEND_SECRET_ENV: 'DATABASE_URL' }))).toThrow(
      'that variable is set by the stack',
    );
  });

  test('without names there is no backend_secrets variable', () => {
    expect(synthStack({ backend: { image: 'b:1' } }).json.variable.backend_secrets).toBeUndefined();
  });
});

describe('the database', () => {
  const SECRET_PASSWORD = 'correct-horse-battery-staple';
  const { json, text } = synthStack(withEnvironment({ domain: 'alvin.xyz' }, { WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1' }));
  const containers = json.resource.docker_container;

  test('is never replaced by a deploy: what it was created with is kept and compared at plan, the same from one synth to the next', () => {
    const createdWith = (input: Parameters<typeof synthStack>[0] = {}) =>
      synthStack({ domain: 'alvin.xyz', ...input, backend: { image: 'wayshub-backend:1', ...input?.backend } }).json.resource.terraform_data.db_created_with;
    const first = createdWith();
    expect(first).toEqual({
      input: { image: 'mysql:8.0', password: '${sha256(var.db_password)}', settings: expect.stringMatching(/^[0-9a-f]{16}$/) },
      lifecycle: { ignore_changes: ['input'] },
    });
    // A new synth (new token numbers), or a change elsewhere, keeps it; a database setting does not.
    expect(createdWith({ replicas: 5, backend: { image: 'wayshub-backend:2' } })).toEqual(first);
    expect((createdWith({ database: { databaseName: 'other' } }).input as { settings: string }).settings).not.toBe(
      (first.input as { settings: string }).settings,
    );
    const precondition = (containers.db.lifecycle as { precondition: Array<{ condition: string; error_message: string }> }).precondition[0];
    expect(precondition.condition).toContain('terraform_data.db_created_with.input.settings == ');
    expect(precondition.error_message).toMatch(/^The database image, db_password or container settings changed since wayshub-db was created/);
  });

  test('is on with the backend: MySQL 8.0 on a named volume, waited for until healthy', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-db',
      image: 'mysql:8.0',
      volumes: [{ volume_name: '${docker_volume.db_data.name}', container_path: '/var/lib/mysql' }],
      wait: true,
      healthcheck: expect.objectContaining({ test: ['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 --silent'] }),
      env: ['MYSQL_DATABASE=wayshub', 'MYSQL_USER=wayshub', 'MYSQL_PASSWORD=${var.db_password}', 'MYSQL_RANDOM_ROOT_PASSWORD=yes'],
    });
    expect(json.output).toMatchObject({
      database_container: { value: '${docker_container.db.name}' },
      database_volume: { value: '${docker_volume.db_data.name}' },
    });
  });

  test('its volume can only be destroyed when the user says so', () => {
    expect(json.resource.docker_volume.db_data.lifecycle).toEqual({ prevent_destroy: true });
    const allowed = synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DB_ALLOW_DESTROY: 'true' })).json;
    expect(allowed.resource.docker_volume.db_data.lifecycle).toEqual({ prevent_destroy: false });
  });

  test('has its own internal network, which only the backend, the migration and the backups join', () => {
    expect(json.resource.docker_network.db_network).toMatchObject({ name: 'wayshub-db-net', internal: true });
    const onDbNet = Object.entries(containers)
      .filter(([, c]) => JSON.stringify(c.networks_advanced ?? []).includes('docker_network.db_network'))
      .map(([id]) => id)
      .sort();
    expect(onDbNet).toEqual(['api', 'backup', 'db', 'migrate']);
    expect(JSON.stringify(containers.db.networks_advanced)).not.toContain('docker_network.network.');
  });

  test('secrets are checked by preconditions, not variable validation, which would print a bad value', () => {
    expect(json.variable.db_password.validation).toBeUndefined();
    expect(json.variable.jwt_private_key.validation).toBeUndefined();
    expect(json.resource.docker_image.api_image.lifecycle).toEqual({
      precondition: [
        { condition: '${length(var.jwt_private_key) >= 16}', error_message: 'jwt_private_key must be at least 16 characters.' },
        { condition: '${length(var.db_password) >= 12}', error_message: 'db_password must be at least 12 characters.' },
      ],
    });
  });

  test('credentials are sensitive variables: only references are synthesized', () => {
    expect(json.variable.db_password).toMatchObject({ type: 'string', sensitive: true });
    expect(json.variable.jwt_private_key).toMatchObject({ type: 'string', sensitive: true });
    expect(json.variable.db_password.default).toBeUndefined();
    expect(containers.api.env).toEqual([
      'WAYSHUB_DRAIN_SECONDS=30',
      'NODE_ENV=production',
      'JWT_PRIVATE_KEY=${var.jwt_private_key}',
      'DATABASE_URL=mysql://wayshub:${replace(urlencode(var.db_password), "+", "%20")}@wayshub-db:3306/wayshub',
      'DB_HOST=wayshub-db',
      'DB_PORT=3306',
      'DB_USER=wayshub',
      'DB_PASSWORD=${var.db_password}',
      'DB_NAME=wayshub',
    ]);
    // Whatever the user will pass, it can't be in the JSON: the JSON never saw it.
    process.env.TF_VAR_db_password = SECRET_PASSWORD;
    expect(synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1' })).text).not.toContain(SECRET_PASSWORD);
    delete process.env.TF_VAR_db_password;
  });

  test('migrations run once per apply, before the backend replicas, and must exit 0', () => {
    const migrate = containers.migrate;
    expect(migrate).toMatchObject({
      name: 'wayshub-migrate-${substr(terraform_data.migrate_run.id, 0, 6)}',
      image: '${docker_image.api_image.image_id}',
      command: ['npx', 'sequelize', 'db:migrate'],
      attach: true,
      must_run: false,
      depends_on: ['docker_container.db'],
      lifecycle: {
        postcondition: [
          {
            condition: '${self.exit_code == 0}',
            error_message: 'The migration job failed; see its output with: docker logs $(docker ps -lq --filter name=wayshub-migrate-)',
          },
        ],
      },
    });
    expect(migrate.env).toContain('WAYSHUB_APPLY_AT=${timestamp()}');
    // Each apply's run has a name of its own: Terraform creates it before it removes the last one.
    expect(json.resource.terraform_data.migrate_run).toEqual({ triggers_replace: { at: '${timestamp()}' } });
    // The backend's environment, less the replicas' drain limit (the job is not a replica).
    const replicaOnly = (env: string[]) => env.filter((e) => !e.startsWith('WAYSHUB_DRAIN_SECONDS='));
    expect(migrate.env).toEqual([...replicaOnly(containers.api.env as string[]), 'WAYSHUB_APPLY_AT=${timestamp()}']);
    expect(containers.api.depends_on).toEqual(['docker_container.migrate']);
    const custom = synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_MIGRATE_COMMAND: 'node migrate.js' })).json;
    expect(custom.resource.docker_container.migrate.command).toEqual(['sh', '-c', 'node migrate.js']);
  });

  test("the migration job gets the backend's own environment too (backend.env), escaped the same way", () => {
    const { json: j } = synthStack({ backend: { image: 'b:1', env: { TZ: 'Asia/Jakarta', GREETING: 'hi ${x}' } } });
    const migrate = j.resource.docker_container.migrate.env as string[];
    expect(migrate.slice(0, 2)).toEqual(['GREETING=hi $${x}', 'TZ=Asia/Jakarta']);
    expect(migrate).toEqual([
      ...(j.resource.docker_container.api.env as string[]).filter((e) => !e.startsWith('WAYSHUB_DRAIN_SECONDS=')),
      'WAYSHUB_APPLY_AT=${timestamp()}',
    ]);
  });

  test('WAYSHUB_DATABASE=off leaves the backend without a database', () => {
    const { json: j } = synthStack(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DATABASE: 'off' }));
    expect(j.resource.docker_container.db).toBeUndefined();
    expect(j.resource.docker_container.migrate).toBeUndefined();
    expect(j.variable.db_password).toBeUndefined();
    expect(j.resource.docker_container.api.env).toEqual(['WAYSHUB_DRAIN_SECONDS=30', 'NODE_ENV=production', 'JWT_PRIVATE_KEY=${var.jwt_private_key}']);
  });

  test('bad database settings are refused', () => {
    expect(() => resolveSettings(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DATABASE: 'maybe' }))).toThrow(
      'invalid database.enabled (WAYSHUB_DATABASE): "maybe"; allowed: on or off (also true/false, yes/no, 1/0)',
    );
    expect(() => resolveSettings(withEnvironment({}, { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_DB_IMAGE: 'MySQL' }))).toThrow(
      'invalid database.image (WAYSHUB_DB_IMAGE): "MySQL"',
    );
    expect(() => resolveSettings({ backend: { image: 'b:1' }, database: { user: "root'--" } })).toThrow(
      'invalid database.user: "root\'--"; allowed: 1 to 32 of letters, digits and _',
    );
  });
});
