// The guide's lab, as data: each step's commands and the output the guide promises. The e2e test
// __tests__/e2e/guide-lab.test.ts runs these steps; the unit test checks both languages carry
// the same ones.

export interface LabStep {
  name: string;
  /** `path "test name"` of the e2e test that runs it. */
  e2e: string;
  commands: string;
  expected: string;
}

const LAB = /<!-- lab: ([\w-]+); e2e: ([^>]+?) -->\n```sh\n([\s\S]*?)\n```\n```text\n([\s\S]*?)\n```/g;

export function labSteps(markdown: string): LabStep[] {
  return [...markdown.matchAll(LAB)].map((m) => ({ name: m[1], e2e: m[2], commands: m[3], expected: m[4] }));
}

/**
 * Whether `output` is what the guide shows: line by line, with runs of spaces as one and
 * `<...>` standing for anything (an address, a version, a time).
 */
export function matchesExpected(output: string, expected: string): boolean {
  const norm = (text: string) =>
    text
      .trim()
      .split('\n')
      .map((line) => line.trim().replace(/\s+/g, ' '));
  const got = norm(output);
  const want = norm(expected);
  if (got.length !== want.length) return false;
  return want.every((line, i) => {
    const pattern = line
      .split(/(<[^>]+>)/)
      .map((part) => (/^<[^>]+>$/.test(part) ? '.+?' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return new RegExp(`^${pattern}$`).test(got[i]);
  });
}
