// The labels every Docker object of a stack carries (`wayshub.stack=<name>`), added once by an
// Aspect at synth instead of being passed down through every tier and construct. Each
// construct still sets its own role label (`wayshub.role`), which says what the object is.
import { IConstruct } from 'constructs';
import { IAspect } from 'cdktf';

import { labelBlocks } from './labels';
import { Container, Network, Secret, Service, Volume } from './provider';

type LabelBlock = { label: string; value: string };

/** Adds these labels to every container, volume, network, secret and service (and its tasks) in scope. */
export class StackLabels implements IAspect {
  private readonly blocks: readonly LabelBlock[];

  constructor(labels: Readonly<Record<string, string>>) {
    this.blocks = labelBlocks(labels);
  }

  visit(node: IConstruct): void {
    if (node instanceof Container || node instanceof Volume || node instanceof Network || node instanceof Secret) {
      node.putLabels(this.merged(node.labelsInput));
    } else if (node instanceof Service) {
      node.putLabels(this.merged(node.labelsInput));
      // The tasks' containers too: `docker ps --filter label=wayshub.stack=...` finds them.
      node.taskSpec.containerSpec.putLabels(this.merged(node.taskSpec.containerSpec.labelsInput));
    }
  }

  /** The object's own labels and the stack's, sorted by key like labelBlocks; the object's win. */
  private merged(own: unknown): LabelBlock[] {
    const blocks = Array.isArray(own) ? (own as LabelBlock[]) : [];
    const keys = new Set(blocks.map((b) => b.label));
    return [...blocks, ...this.blocks.filter((b) => !keys.has(b.label))].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  }
}
