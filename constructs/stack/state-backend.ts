// Where a stack keeps its Terraform state. Local files by default (nothing to set up); with
// WAYSHUB_STATE=pg, Terraform's built-in `pg` backend, in a schema of the stack's own, so that a
// team and its CI runners share one state with locking. The connection string is read by
// Terraform from PG_CONN_STR when it runs: it never reaches cdk.tf.json.
import { Construct } from 'constructs';
import { PgBackend } from 'cdktf';

import { SettingsError } from '../settings';

export type StateKind = 'local' | 'pg';
export const STATE_KINDS: readonly StateKind[] = ['local', 'pg'];

/** WAYSHUB_STATE: local (the default) or pg. */
export function stateKindFrom(env: Readonly<Record<string, string | undefined>>): StateKind {
  const value = (env.WAYSHUB_STATE ?? '').trim() || 'local';
  if (!(STATE_KINDS as readonly string[]).includes(value)) {
    throw new SettingsError('state (WAYSHUB_STATE)', value, 'allowed: local (state files next to the stack) or pg (PostgreSQL, from PG_CONN_STR)');
  }
  return value as StateKind;
}

/** The PostgreSQL schema of a stack's state: its name, with "_" for "-". */
export function stateSchemaOf(stackName: string): string {
  return stackName.replace(/-/g, '_');
}

/** The pg backend without conn_str: Terraform takes it from PG_CONN_STR at plan and apply. */
class PgBackendFromEnvironment extends PgBackend {
  constructor(scope: Construct, schemaName: string) {
    super(scope, { connStr: '', schemaName });
  }

  override toTerraform(): { terraform: { backend: { pg: Record<string, unknown> } } } {
    const out = super.toTerraform() as { terraform: { backend: { pg: Record<string, unknown> } } };
    delete out.terraform.backend.pg.conn_str;
    return out;
  }
}

/** Sets the stack's backend for this kind of state; local needs nothing (cdktf's default). */
export function useStateBackend(stack: Construct, stackName: string, kind: StateKind): void {
  if (kind === 'pg') new PgBackendFromEnvironment(stack, stateSchemaOf(stackName));
}
