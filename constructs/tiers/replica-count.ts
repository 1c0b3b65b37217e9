// The Terraform variable that counts a replica set: `cdktf deploy --var <id>=N` scales
// without re-synthesizing, and Terraform itself refuses a count out of range.
import { Construct } from 'constructs';
import { TerraformVariable } from 'cdktf';

import { MAX_REPLICAS } from '../settings';

export interface ReplicaCountVariableProps {
  /** The count when the deploy gives none. */
  readonly default: number;
  /** What is counted, for the description: `app`, `backend`. */
  readonly what: string;
}

export class ReplicaCountVariable extends TerraformVariable {
  constructor(scope: Construct, id: string, props: ReplicaCountVariableProps) {
    super(scope, id, {
      type: 'number',
      default: props.default,
      description: `How many ${props.what} containers run behind the proxy (1 to ${MAX_REPLICAS}).`,
      validation: [
        {
          condition: `\${var.${id} >= 1 && var.${id} <= ${MAX_REPLICAS} && floor(var.${id}) == var.${id}}`,
          errorMessage: `${id} must be a whole number from 1 to ${MAX_REPLICAS}, got \${var.${id}}.`,
        },
      ],
    });
    // The user types this name (`--var replicas=5`, TF_VAR_replicas), wherever the construct sits.
    this.overrideLogicalId(id);
  }
}
