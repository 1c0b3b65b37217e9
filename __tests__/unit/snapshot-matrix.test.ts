// The whole cdk.tf.json of one deployment per combination of settings, as reviewed snapshots.
// A refactor that is meant to change nothing must leave every one of them as it is; a change
// that is meant to change the output shows up here, whole, for review.
import { synthStack } from '../support/synth';

import { MATRIX, fixtures, removeFixtures } from '../support/settings-matrix';

afterAll(removeFixtures);

describe('every settings combination synthesizes the reviewed cdk.tf.json', () => {
  test.each(MATRIX)('%s', (_name, input) => {
    const { text } = synthStack(input);
    expect(JSON.parse(text.split(fixtures).join('<fixtures>'))).toMatchSnapshot();
  });
});
