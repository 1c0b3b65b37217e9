// The Terraform variable that counts a replica set: `cdktf deploy --var <id>=N` scales
// without re-synthesizing, and Terraform itself refuses a count out of range.
import { Construct } from 'constructs';
import { TerraformVariable } from 'cdktf';

import { MAX_REPLICAS } from '../settings';
import { variableName, variableRef } from '../docker/labels';

export interface ReplicaCountVariableProps {
  /** The count when the deploy gives none. */
  readonly default: number;
  /** What is counted, for the description: `app`, `backend`. */
  readonly what: string;
  /**
   * The fewest allowed: 0 where other servers can answer (app servers outside the stack).
   * @default 1
   */
  readonly min?: number;
}

export class ReplicaCountVariable extends TerraformVariable {
  constructor(scope: Construct, id: string, props: ReplicaCountVariableProps) {
    super(scope, id, {
      type: 'number',
      default: props.default,
      description: `How many ${props.what} containers run behind the proxy (${props.min ?? 1} to ${MAX_REPLICAS}).`,
    });
    // The variable's own name, as the stack gives it (in a WayshubStack: the id, which users type).
    const v = variableRef(this);
    this.addValidation({
      condition: `\${${v} >= ${props.min ?? 1} && ${v} <= ${MAX_REPLICAS} && floor(${v}) == ${v}}`,
      errorMessage: `${variableName(this)} must be a whole number from ${props.min ?? 1} to ${MAX_REPLICAS}, got \${${v}}.`,
    });
  }
}
