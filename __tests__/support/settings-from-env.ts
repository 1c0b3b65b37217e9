// Settings as a user's environment gives them, on top of a domain: the resolved settings, or
// the one line a bad value is refused with.
import { SettingsError, WayshubSettings, resolveSettings, withEnvironment } from '../../constructs/settings';

export const settingsFromEnv = (env: Record<string, string>): WayshubSettings => resolveSettings(withEnvironment({ domain: 'alvin.xyz' }, env));

/** The refusal's message, or 'no error'. */
export function refusalOf(env: Record<string, string>): string {
  try {
    settingsFromEnv(env);
    return 'no error';
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    return e.message;
  }
}
