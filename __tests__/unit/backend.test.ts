// The optional backend (wayshub-backend) at api.<domain>, with its own replica count.
import { SettingsError, resolveSettings, withEnvironment } from '../../constructs/settings';
import { Container } from '../../constructs/docker';
import { synthStack, uploadedFiles } from '../support/synth';

describe('without a backend image', () => {
  test('there is no backend: no variable, no containers, no API site', () => {
    const { json } = synthStack();
    expect(json.variable.backend_replicas).toBeUndefined();
    expect(json.resource.docker_container.api).toBeUndefined();
    expect(json.output.api_url).toBeUndefined();
    expect(json.resource.docker_container.app.env).toBeUndefined();
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
      name: 'wayshub-backend-${(count.index + 1)}',
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['wayshub-backend'] }],
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
    expect(json.resource.docker_container.app.env).toEqual(['REACT_APP_API_URL=http://api.alvin.xyz/api/v1']);
    expect(json.output.api_url.value).toBe('http://api.alvin.xyz/api/v1');
    expect(json.output.backend_replica_names.value).toBe('${docker_container.api[*].name}');
  });

  test('the proxy also answers to the API name inside the network', () => {
    expect(text).toHaveResourceWithProperties(Container, {
      name: 'wayshub-proxy',
      networks_advanced: [{ name: '${docker_network.network.name}', aliases: ['alvin.xyz', 'api.alvin.xyz'] }],
    });
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
    ['a subdomain with a dot', { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_API_SUBDOMAIN: 'api.v1' }, 'invalid backend.subdomain (WAYSHUB_API_SUBDOMAIN): "api.v1"; allowed: one DNS label of a-z, 0-9 and "-", e.g. api'],
    ['a port out of range', { WAYSHUB_BACKEND_IMAGE: 'b:1', WAYSHUB_BACKEND_PORT: '70000' }, 'invalid backend.port (WAYSHUB_BACKEND_PORT): 70000; allowed: a whole number from 1 to 65535'],
    ['a malformed image', { WAYSHUB_BACKEND_IMAGE: 'Wayshub Backend' }, 'invalid backend.image (WAYSHUB_BACKEND_IMAGE): "Wayshub Backend"; allowed: an image reference like nginx:1.30-alpine, registry.example.com/team/app:1.2 or name@sha256:<digest>'],
    ['a build context without a Dockerfile', { WAYSHUB_BACKEND_BUILD_CONTEXT: '/nonexistent' }, 'invalid backend.buildContext (WAYSHUB_BACKEND_BUILD_CONTEXT): "/nonexistent"; allowed: a directory that has a Dockerfile'],
  ])('%s', (_name, env, message) => {
    expect(() => resolveSettings(withEnvironment({}, env))).toThrow(SettingsError);
    expect(() => resolveSettings(withEnvironment({}, env))).toThrow(message);
  });

  test('0 backend replicas', () => {
    expect(() => resolveSettings({ backend: { image: 'b:1', replicas: 0 } })).toThrow('invalid backend.replicas: 0; allowed: a whole number from 1 to 20');
  });
});
