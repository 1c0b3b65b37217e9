// The whole cdk.tf.json of one deployment per combination of settings, as reviewed snapshots.
// A refactor that is meant to change nothing must leave every one of them as it is; a change
// that is meant to change the output shows up here, whole, for review.
import { WayshubSettingsInput, withEnvironment } from '../../constructs/settings';
import { synthStack } from '../support/synth';

import { MATRIX, fixtures, removeFixtures } from '../support/settings-matrix';

afterAll(removeFixtures);

describe('every settings combination synthesizes the reviewed cdk.tf.json', () => {
  test.each(MATRIX)('%s', (_name, input) => {
    const { text } = synthStack(input);
    expect(JSON.parse(text.split(fixtures).join('<fixtures>'))).toMatchSnapshot();
  });
});

describe('every Docker object of a stack carries its name, whatever the settings (the StackLabels Aspect)', () => {
  // The types that take labels; a Swarm service's tasks carry them too.
  const LABELLED = ['docker_container', 'docker_volume', 'docker_network', 'docker_secret', 'docker_service'];
  type Labels = Array<{ label: string; value: string }>;
  test.each(MATRIX)('%s', (_name, input) => {
    const { json, stack } = synthStack(input);
    const missing: string[] = [];
    for (const type of LABELLED) {
      for (const [id, resource] of Object.entries(json.resource[type] ?? {}) as [
        string,
        { labels?: Labels; task_spec?: { container_spec: { labels?: Labels } } },
      ][]) {
        const has = (labels?: Labels) => labels?.some((l) => l.label === 'wayshub.stack' && l.value === stack.settings.name) === true;
        if (!has(resource.labels)) missing.push(`${type}.${id}`);
        if (resource.task_spec && !has(resource.task_spec.container_spec.labels)) missing.push(`${type}.${id} (its tasks)`);
        // Each also says what it is.
        if (type !== 'docker_network' && !resource.labels?.some((l) => l.label === 'wayshub.role')) missing.push(`${type}.${id} (a role)`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('a setting written in main.ts or given as its WAYSHUB_ variable synthesizes the same bytes', () => {
  test.each<[string, Record<string, string>, WayshubSettingsInput]>([
    [
      'a consistent hash',
      { WAYSHUB_LB_METHOD: 'hash:$request_uri:consistent' },
      { proxy: { loadBalancing: { method: 'hash', key: '$request_uri', consistent: true } } },
    ],
    ['a rate limit', { WAYSHUB_RATE_LIMIT: '10r/s:20' }, { proxy: { rateLimit: { rate: '10r/s', burst: 20 } } }],
    [
      'aliases and a port',
      { WAYSHUB_SERVER_ALIASES: 'www.alvin.xyz', WAYSHUB_HTTP_PORT: '8080' },
      { serverAliases: ['www.alvin.xyz'], proxy: { httpPort: 8080 } },
    ],
    [
      'the backend on Swarm',
      { WAYSHUB_ENGINE: 'swarm', WAYSHUB_BACKEND_IMAGE: 'wayshub-backend:1.0' },
      { engine: 'swarm', backend: { image: 'wayshub-backend:1.0' } },
    ],
  ])('%s', (_what, vars, code) => {
    const fromEnvironment = synthStack(withEnvironment({}, vars)).text;
    expect(synthStack(code).text).toBe(fromEnvironment);
    // And the setting matters: the default synthesizes something else.
    expect(synthStack({}).text).not.toBe(fromEnvironment);
  });
});
