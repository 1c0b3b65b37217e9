// The wayshub deployments. Edit the settings here, or override them with the WAYSHUB_*
// environment variables listed in the README. Scale with `--var replicas=N`.
//
// One deployment is the `wayshub` stack. For several, give each an env and settings of its own;
// each becomes the stack `wayshub-<env>` (`npx cdktf deploy wayshub-staging`):
//
//   { env: 'staging', settings: { domain: 'staging.alvin.xyz', replicas: 2 } },
//   { env: 'production', settings: { domain: 'alvin.xyz', replicas: 3 } },
import { App } from 'cdktf';

import { addDeployments, resolveDeployments } from './constructs/stack/deployments';
import { SettingsError } from './constructs/settings';

try {
  const deployments = resolveDeployments([{ settings: { domain: 'wayshub.localhost', replicas: 3 } }], process.env);
  for (const warning of deployments.flatMap((d) => d.warnings)) console.error(`wayshub: warning: ${warning}`);
  const app = new App();
  addDeployments(app, deployments);
  app.synth();
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  // One line, and nothing synthesized: the user fixes the setting and runs again.
  console.error(`wayshub: ${error.message}`);
  process.exit(1);
}
