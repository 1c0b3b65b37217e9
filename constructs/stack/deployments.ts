// The deployments one app declares in main.ts, one stack each. A single deployment is the
// `wayshub` stack, as it always was. Several (say staging and production) are stacks named
// `wayshub-<env>`, each with its own name prefix, domain, Docker host, state schema and replica
// defaults; their WAYSHUB_* overrides carry the environment's name in front (STAGING_DOCKER_HOST,
// PRODUCTION_WAYSHUB_DOMAIN), so that one never reaches the other. Secrets are Terraform
// variables of each stack, asked for only when that stack is planned or deployed.
import { App } from 'cdktf';

import {
  ENV_VARS,
  SettingsError,
  WayshubSettings,
  WayshubSettingsInput,
  refuseUnknownVariables,
  resolveSettings,
  settingsWarnings,
  withEnvironment,
} from '../settings';
import { StateKind, stateKindFrom, useStateBackend } from './state-backend';
import { WayshubStack } from './wayshub-stack';

export interface DeploymentProps {
  /**
   * The environment's name, e.g. `staging`: the stack is `<name>-<env>`, and its overrides are
   * read as `<ENV>_WAYSHUB_...` when the app declares several deployments.
   * @default none: the stack is `<name>` (wayshub)
   */
  readonly env?: string;
  /** What main.ts declares for this deployment; environment variables override it. */
  readonly settings: WayshubSettingsInput;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A deployment with everything checked: what one stack needs. */
export interface ResolvedDeployment {
  readonly stackName: string;
  readonly settings: WayshubSettings;
  readonly state: StateKind;
  /** What synthesizes but is likely a mistake, one line each (main.ts prints them). */
  readonly warnings: readonly string[];
}

/** Checks every deployment and its overrides before anything is created; throws SettingsError on a bad one. */
export function resolveDeployments(deployments: readonly DeploymentProps[], env: Env): ResolvedDeployment[] {
  if (deployments.length === 0) throw new SettingsError('deployments', [], 'allowed: at least one deployment in main.ts');
  const state = stateKindFrom(env);
  const several = deployments.length > 1;
  const seen = new Set<string>();
  for (const d of deployments) {
    if (several && d.env === undefined)
      throw new SettingsError('deployments[].env', d.env, 'allowed: a name for each deployment when there are several, e.g. staging');
    if (d.env !== undefined && !/^[a-z][a-z0-9]{0,15}$/.test(d.env)) {
      throw new SettingsError('deployments[].env', d.env, 'allowed: 1 to 16 of a-z and 0-9, starting with a letter, e.g. staging');
    }
    if (d.env !== undefined && seen.has(d.env)) throw new SettingsError('deployments[].env', d.env, 'it is listed twice; allowed: each name once');
    if (d.env !== undefined) seen.add(d.env);
  }
  if (several) {
    refuseUnknownVariables(
      env,
      deployments.map((d) => `${(d.env ?? '').toUpperCase()}_`),
    );
    refuseSharedOverrides(deployments, env);
  }
  return deployments.map((d) => {
    const base = d.env === undefined ? d.settings : { ...d.settings, name: d.settings.name ?? `wayshub-${d.env}` };
    const settings = several
      ? withPrefixedNames(d.env ?? '', () => resolveSettings(withEnvironment(base, overridesOf(d.env ?? '', env))))
      : resolveSettings(withEnvironment(base, env));
    const warnings = settingsWarnings(settings).map((w) => (several ? `${settings.name}: ${w}` : w));
    return { stackName: settings.name, settings, state, warnings };
  });
}

/** One stack per deployment, named after its name prefix, with its state backend. */
export function addDeployments(app: App, deployments: readonly ResolvedDeployment[]): WayshubStack[] {
  return deployments.map((d) => {
    const stack = new WayshubStack(app, d.stackName, d.settings);
    useStateBackend(stack, d.stackName, d.state);
    return stack;
  });
}

/** An error of one of several deployments names the variables the user sets for it: STAGING_WAYSHUB_DOMAIN. */
function withPrefixedNames<T>(envName: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    const prefixed = (text: string) => text.replace(/\b(WAYSHUB_[A-Z0-9_]+|DOCKER_HOST)\b/g, `${envName.toUpperCase()}_$1`);
    throw new SettingsError(prefixed(error.setting), error.value, prefixed(error.allowed));
  }
}

/** `STAGING_WAYSHUB_DOMAIN` → `WAYSHUB_DOMAIN`, for the staging deployment only. */
function overridesOf(envName: string, env: Env): Env {
  const prefix = `${envName.toUpperCase()}_`;
  return Object.fromEntries(ENV_VARS.map((key) => [key, env[`${prefix}${key}`]]));
}

/** With several deployments, an unprefixed override would reach all of them: it is refused. */
function refuseSharedOverrides(deployments: readonly DeploymentProps[], env: Env): void {
  const shared = ENV_VARS.find((key) => (env[key] ?? '').trim() !== '');
  if (!shared) return;
  const names = deployments.map((d) => `${(d.env ?? '').toUpperCase()}_${shared}`);
  throw new SettingsError(
    shared,
    env[shared],
    `main.ts declares ${deployments.length} deployments (${deployments.map((d) => d.env).join(', ')}); allowed: one per deployment, as ${names.join(' or ')}`,
  );
}
