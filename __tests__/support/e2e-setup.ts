// The real engine takes seconds per scenario: a longer per-test limit than unit tests get.
// (Jest reads `testTimeout` only from the top-level config, not from a project.)
jest.setTimeout(240_000);
