// The tiers are constructs of their own: each one can be put in a stack of its own, and the
// names a user types (TF_VAR_*, --var) stay the same wherever a tier sits.
import { TerraformStack, Testing } from 'cdktf';

import { ApiTier } from '../../constructs/tiers/api-tier';
import { Network } from '../../constructs/docker/provider';
import { EdgeTier } from '../../constructs/tiers/edge-tier';
import { FrontendTier } from '../../constructs/tiers/frontend-tier';
import { resolveSettings } from '../../constructs/settings';
import { TerraformJson } from '../support/synth';

const settings = resolveSettings({ name: 'shop', domain: 'shop.xyz', backend: { image: 'shop-api:1', secretEnv: ['API_KEY'] } });

function synth(build: (stack: TerraformStack, network: Network) => void): TerraformJson {
  const stack = new TerraformStack(Testing.app(), 'tiers');
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
