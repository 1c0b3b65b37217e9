// The tiers are constructs of their own: each one can be put in a stack of its own. In an
// AddressedStack (WayshubStack is one) the addresses and the names a user types (TF_VAR_*,
// --var) are the stable ones wherever a tier sits, and two elements that would share one are
// refused; in a plain TerraformStack two tiers are two of everything.
import { DockerProvider } from '../../constructs/docker/provider';
import { TerraformStack, Testing } from 'cdktf';

import { AddressedStack } from '../../constructs/stack/addressed-stack';

import { ApiTier } from '../../constructs/tiers/api-tier';
import { Network } from '../../constructs/docker/provider';
import { EdgeTier } from '../../constructs/tiers/edge-tier';
import { FrontendTier } from '../../constructs/tiers/frontend-tier';
import { resolveSettings } from '../../constructs/settings';
import { TerraformJson } from '../support/synth';

const settings = resolveSettings({ name: 'shop', domain: 'shop.xyz', backend: { image: 'shop-api:1', secretEnv: ['API_KEY'] } });

function synth(build: (stack: TerraformStack, network: Network) => void): TerraformJson {
  const stack = new AddressedStack(Testing.app(), 'tiers');
  build(stack, new Network(stack, 'network', { name: 'shop-net' }));
  return JSON.parse(Testing.synth(stack)) as TerraformJson;
}

describe('a tier on its own', () => {
  test('the frontend tier declares the replicas variable and the counted replicas, nothing else', () => {
    const json = synth((stack, network) => new FrontendTier(stack, 'web', { name: 'shop', app: settings.app, replicas: 2, network }));
    expect(Object.keys(json.variable)).toEqual(['replicas']);
    expect(json.variable.replicas.default).toBe(2);
    expect(Object.keys(json.resource.docker_container)).toEqual(['app']);
    expect(json.resource.docker_container.app.count).toBe('${var.replicas}');
  });

  test('the API tier declares the backend variables under the names users give with TF_VAR_*', () => {
    const json = synth((stack, network) => new ApiTier(stack, 'nested', { name: 'shop', backend: settings.backend!, database: settings.database, network }));
    expect(Object.keys(json.variable).sort()).toEqual(['backend_replicas', 'backend_secrets', 'db_password', 'jwt_private_key']);
    expect(Object.values(json.variable).filter((v) => v.sensitive === true)).toHaveLength(3);
    expect(Object.keys(json.resource.docker_container).sort()).toEqual(['api', 'db', 'migrate']);
    // The secrets are checked on the backend's image, one precondition each.
    const image = json.resource.docker_image.api_image as { lifecycle: { precondition: unknown[] } };
    expect(image.lifecycle.precondition).toHaveLength(3);
  });

  test("the edge tier gives each site its own upstream and certificate names in Let's Encrypt mode", () => {
    const le = resolveSettings({ domain: 'shop.xyz', tls: { mode: 'letsencrypt', email: 'me@shop.xyz' } });
    const json = synth((stack, network) => {
      const web = new FrontendTier(stack, 'web', { name: 'shop', app: le.app, replicas: 1, network });
      new EdgeTier(stack, 'edge', {
        name: 'shop',
        proxy: le.proxy,
        tls: le.tls,
        network,
        sites: [
          { key: 'app', serverNames: ['shop.xyz'], replicas: web.replicas },
          { key: 'docs', serverNames: ['docs.shop.xyz'], replicas: web.replicas },
        ],
      });
    });
    expect(json.resource.docker_container.certbot.env).toContain('WAYSHUB_DOMAINS=shop.xyz docs.shop.xyz');
    const uploads = json.resource.docker_container.proxy_config_loader.upload as Array<{ content: string }>;
    const config = uploads.map((u) => u.content).join('\n');
    expect(config).toContain('upstream shop_app {');
    expect(config).toContain('upstream shop_docs {');
  });
});

describe('two deployments in one stack', () => {
  const both = (stack: TerraformStack) => {
    new DockerProvider(stack, 'docker', {});
    for (const env of ['staging', 'production']) {
      const network = new Network(stack, `${env}-network`, { name: `${env}-net` });
      const frontend = new FrontendTier(stack, `${env}-frontend`, { name: env, app: settings.app, replicas: 2, network });
      new EdgeTier(stack, `${env}-edge`, {
        name: env,
        proxy: settings.proxy,
        tls: settings.tls,
        network,
        sites: [{ key: 'app', serverNames: [`${env}.shop.xyz`], replicas: frontend.replicas }],
      });
    }
  };

  test('in a plain TerraformStack: two of everything, none merged', () => {
    const stack = new TerraformStack(Testing.app(), 'both');
    both(stack);
    const json = JSON.parse(Testing.synth(stack)) as TerraformJson;
    const count = (type: string) => Object.keys(json.resource[type] ?? {}).length;
    expect({
      containers: count('docker_container'),
      images: count('docker_image'),
      volumes: count('docker_volume'),
      networks: count('docker_network'),
    }).toEqual({
      containers: 6, // each: the replicas, the proxy, its config loader
      images: 4,
      volumes: 4, // each: the config, the access log
      networks: 2,
    });
    expect(Object.keys(json.variable)).toHaveLength(2);
    // Each replicas variable checks itself, under the name cdktf gave it.
    for (const [name, variable] of Object.entries(json.variable) as [string, { validation: { condition: string }[] }][])
      expect(variable.validation[0].condition).toBe(`\${var.${name} >= 1 && var.${name} <= 20 && floor(var.${name}) == var.${name}}`);
  });

  test('in an AddressedStack: refused with both paths, never merged silently', () => {
    // The second frontend tier is refused as it is built: its replicas variable is the first one's name.
    expect(() => both(new AddressedStack(Testing.app(), 'both'))).toThrow(
      'production-frontend/replicas and staging-frontend/replicas would both be var.replicas in Terraform, and one would replace the other: give one of their constructs another id',
    );
  });
});

describe('props checked as a construct is built, for tiers used without resolveSettings', () => {
  test.each([
    ['a port out of range', { port: 0 }, 'tiers/web/app: invalid port: 0; allowed: a whole number from 1 to 65535'],
    ['too little memory', { memoryMb: 2 }, 'tiers/web/app: invalid memoryMb: 2; allowed: a whole number of MiB from 6'],
  ])('%s: one line with the construct path', (_what, app, line) => {
    expect(() => synth((stack, network) => new FrontendTier(stack, 'web', { name: 'shop', app: { ...settings.app, ...app }, replicas: 2, network }))).toThrow(
      line,
    );
  });

  test('a proxy with no site', () => {
    expect(() =>
      synth((stack, network) => new EdgeTier(stack, 'edge', { name: 'shop', proxy: settings.proxy, tls: settings.tls, network, sites: [] })),
    ).toThrow('tiers/edge/proxy: invalid sites: []; allowed: at least one site');
  });

  test('a prefix Docker would refuse in a name', () => {
    expect(() => synth((stack, network) => new FrontendTier(stack, 'web', { name: 'Shop_1', app: settings.app, replicas: 2, network }))).toThrow(
      'tiers/web/app: invalid name: "Shop_1-app"; allowed: a-z, 0-9, "." and "-", up to 63, e.g. wayshub-app',
    );
  });
});
