// The guide never lies: its config excerpts are what the renderer emits now, both languages carry
// the same excerpts and lab commands, every lab step names the e2e test that runs it, and every
// relative link (guides and README) leads to a file and heading that exist, and every optional
// construct prop says its default.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EXCERPTS, GUIDES, SETTINGS_PAGE, generatedBlocks, settingsTableOf } from '../../docs/excerpts';
import { ENV_VARS } from '../../constructs/settings';
import { SETTINGS, settingsTable } from '../../constructs/settings/schema';
import { labSteps, matchesExpected } from '../../docs/lab';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('the guide', () => {
  test.each(GUIDES)('%s: every config excerpt is what the code generates now (else: npm run docs)', (guide) => {
    const blocks = generatedBlocks(read(guide));
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) {
      expect({ excerpt: block.name, text: block.text }).toEqual({ excerpt: block.name, text: EXCERPTS[block.name]() });
    }
  });

  test('both languages carry the same excerpts and the same lab steps, commands and output', () => {
    const [en, id] = GUIDES.map(read);
    expect(generatedBlocks(id).map((b) => b.name)).toEqual(generatedBlocks(en).map((b) => b.name));
    expect(labSteps(id)).toEqual(labSteps(en));
    expect(labSteps(en).map((s) => s.name)).toEqual(['exchange', 'deploy', 'wrong-host', 'rotate', 'names', 'addresses', 'kill', 'scale', 'access-log']);
  });

  test('each language links the other at its top, and the README links both', () => {
    expect(read('docs/guide.md').split('\n')[0]).toBe('**English** | [Bahasa Indonesia](guide.id.md)');
    expect(read('docs/guide.id.md').split('\n')[0]).toBe('[English](guide.md) | **Bahasa Indonesia**');
    expect(read('README.md').slice(0, 1500)).toContain('[English](docs/guide.md) | [Bahasa Indonesia](docs/guide.id.md)');
  });

  test('every lab step names an e2e test that exists', () => {
    for (const step of labSteps(read('docs/guide.md'))) {
      const m = /^(\S+) "([^"]+)"$/.exec(step.e2e);
      expect({ step: step.name, names: m !== null }).toEqual({ step: step.name, names: true });
      const [, file, name] = m!;
      expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
      expect(read(file)).toContain(`test(${JSON.stringify(name)}`);
    }
  });

  test("a lab step's output matches line by line, spaces folded, <...> standing for anything", () => {
    expect(matchesExpected('     20 200\n', '20 200')).toBe(true);
    expect(matchesExpected('upstream=172.18.0.4:3000', 'upstream=<address>:3000')).toBe(true);
    expect(matchesExpected('upstream=172.18.0.4:3001', 'upstream=<address>:3000')).toBe(false);
    expect(matchesExpected('200\n200', '200')).toBe(false);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const outsideCode = markdown.replace(/```[\s\S]*?```/g, '');
  return new Set([...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
}

const PAGES = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`)
  .filter((f) => !(GUIDES as readonly string[]).includes(f));

describe('relative links', () => {
  test.each(['README.md', ...GUIDES, ...PAGES])('%s: each leads to a file (and heading) that exists', (file) => {
    const markdown = read(file);
    const links = [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((href) => !/^[a-z]+:/.test(href));
    expect(links.length).toBeGreaterThan(0);
    const broken = links.filter((href) => {
      const [target, anchor] = href.split('#');
      const resolved = target ? path.join(ROOT, path.dirname(file), target) : path.join(ROOT, file);
      if (!fs.existsSync(resolved)) return true;
      return anchor !== undefined && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor);
    });
    expect(broken).toEqual([]);
  });
});

describe('the reference pages', () => {
  test('the README stays short, and its index names every page of docs/', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(260);
    for (const page of PAGES) expect(readme).toContain(`](${page})`);
  });

  test.each(PAGES)('%s: its contents list is its headings, in order, and it leads back to the README', (page) => {
    const markdown = read(page);
    expect(markdown.split('\n')[2]).toBe('[← README](../README.md)');
    const contents = [...(/\*\*Contents\*\*\n\n((?:\s*- \[.*\]\(#.*\)\n)+)/.exec(markdown)?.[1] ?? '').matchAll(/\(#([^)]+)\)/g)].map((m) => m[1]);
    const outsideCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/<!-- generated by [\s\S]*?<!-- end of generated comment -->/g, '');
    const headings = [...outsideCode.matchAll(/^#{2,3} (.+)$/gm)].map((m) => slug(m[1]));
    expect(contents).toEqual(headings);
  });

  test('the architecture page names only files that exist, each as a link', () => {
    const rows = read('docs/architecture.md')
      .split('\n')
      .filter((l) => /^\| \[?`/.test(l));
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) {
      const first = row.split(' | ')[0];
      expect({ row: first, linked: /^\| \[`[^`]+`\]\([^)]+\)/.test(first) }).toEqual({ row: first, linked: true });
    }
  });
});

describe('the settings page', () => {
  test('its table is what the settings schema gives now (else: npm run docs)', () => {
    expect(settingsTableOf(read(SETTINGS_PAGE))).toBe(settingsTable());
  });

  test('every variable the overrides read is in the schema, once, and so on the page', () => {
    expect(new Set(ENV_VARS).size).toBe(ENV_VARS.length);
    expect(ENV_VARS.length).toBeGreaterThanOrEqual(35);
    for (const env of ENV_VARS) expect(read(SETTINGS_PAGE)).toContain(`| \`${env}\` |`);
    expect(SETTINGS.filter((s) => s.terraformVariable).map((s) => s.path)).toEqual(['replicas', 'backend_replicas']);
  });
});

describe('the constructs document themselves', () => {
  test('every optional prop of a construct (an XxxProps interface) says its @default', () => {
    const files = (fs.readdirSync(path.join(ROOT, 'constructs'), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    let optional = 0;
    const undocumented: string[] = [];
    for (const file of files) {
      const lines = read(path.join('constructs', file)).split('\n');
      let props: string | undefined;
      lines.forEach((line, i) => {
        const start = /^export (?:interface|type) (\w+Props)\b/.exec(line);
        if (start) props = start[1];
        else if (line.startsWith('}')) props = undefined;
        else if (props && /^\s+readonly \w+\?:/.test(line)) {
          optional++;
          const before = lines.slice(Math.max(0, i - 8), i).join('\n');
          const doc = before.slice(before.lastIndexOf('/**'));
          if (!before.includes('/**') || !doc.includes('@default')) undocumented.push(`${file}:${i + 1} ${props}: ${line.trim()}`);
        }
      });
    }
    expect(optional).toBeGreaterThan(30);
    expect(undocumented).toEqual([]);
  });
});
