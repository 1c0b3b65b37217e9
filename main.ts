// The default wayshub deployment. Edit the settings here, or override them with the
// WAYSHUB_* environment variables listed in the README. Scale with `--var replicas=N`.
import { App } from 'cdktf';

import { SettingsError, resolveSettings, withEnvironment } from './constructs/settings';
import { WayshubStack } from './constructs/wayshub-stack';

try {
  const settings = resolveSettings(
    withEnvironment(
      {
        domain: 'wayshub.localhost',
        replicas: 3,
      },
      process.env,
    ),
  );
  const app = new App();
  new WayshubStack(app, 'wayshub', settings);
  app.synth();
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  // One line, and nothing synthesized: the user fixes the setting and runs again.
  console.error(`wayshub: ${error.message}`);
  process.exit(1);
}
