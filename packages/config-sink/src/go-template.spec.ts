import { expect } from 'chai';
import fc from 'fast-check';
import { fromBackrestPlan, toBackrestPlan } from './backrest-plan.js';
import { escapeGoTemplate, unescapeGoTemplate } from './go-template.js';
import { plan } from './spec-support.js';

/**
 * A model of Go's text/template for the subset escaped text may contain, written from
 * text/template/parse/lex.go: text up to the next `{{`; an action may open with a left trim
 * marker `{{- ` (trims the whitespace before it), be a comment `{{/* … *\/}}`, or (the only
 * pipeline modelled) print one string constant, `"…"` or `` `…` ``; it may close with a right
 * trim marker ` -}}`. Any other action would be evaluated by Go: the model throws, so a test
 * using it fails when escaping leaves a live action behind.
 */
function renderLikeGo(template: string): string {
  const SPACE = /[ \t\r\n]/;
  let out = '';
  let pos = 0;
  let trimNextText = false;
  while (pos <= template.length) {
    const open = template.indexOf('{{', pos);
    let text = open < 0 ? template.slice(pos) : template.slice(pos, open);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, '');
    trimNextText = false;
    if (open < 0) {
      out += text;
      break;
    }
    let i = open + 2;
    // Left trim marker: "-" followed by a space character.
    if (template[i] === '-' && SPACE.test(template[i + 1] ?? '')) {
      text = text.replace(/[ \t\r\n]+$/, '');
      i += 2;
    }
    out += text;
    const closeAt = (j: number): number => {
      // Optional spaces, optional " -" right trim marker, then "}}".
      let k = j;
      while (SPACE.test(template[k] ?? '')) k++;
      if (template.startsWith('-}}', k) && k > j) {
        trimNextText = true;
        return k + 3;
      }
      if (template.startsWith('}}', k)) return k + 2;
      throw new Error(
        `unclosed or unsupported action at ${open}: ${template.slice(open, open + 20)}`,
      );
    };
    if (template.startsWith('/*', i)) {
      const end = template.indexOf('*/', i + 2);
      if (end < 0) throw new Error('unclosed comment');
      pos = closeAt(end + 2);
      continue;
    }
    while (SPACE.test(template[i] ?? '')) i++;
    const q = template[i];
    if (q === '"') {
      let j = i + 1;
      while (j < template.length && template[j] !== '"') j += template[j] === '\\' ? 2 : 1;
      if (j >= template.length) throw new Error('unterminated quoted string');
      out += JSON.parse(template.slice(i, j + 1)) as string;
      pos = closeAt(j + 1);
    } else if (q === '`') {
      const j = template.indexOf('`', i + 1);
      if (j < 0) throw new Error('unterminated raw string');
      out += template.slice(i + 1, j);
      pos = closeAt(j + 1);
    } else {
      throw new Error(`action Go would evaluate at ${open}: ${template.slice(open, open + 20)}`);
    }
  }
  return out;
}

describe('Go template escaping of hook text', () => {
  it('the model itself: renders constants and trims, refuses live actions', () => {
    expect(renderLikeGo('a {{"{{"}} b }} c')).to.equal('a {{ b }} c');
    expect(renderLikeGo('a  {{- "x" -}}  b')).to.equal('axb');
    expect(renderLikeGo('a{{/* note */}}b')).to.equal('ab');
    expect(renderLikeGo('{{`raw`}}')).to.equal('raw');
    expect(() => renderLikeGo('echo {{ .Plan.Id }}')).to.throw(/evaluate/);
    expect(() => renderLikeGo("awk '{{print}}'")).to.throw(/evaluate/);
  });

  const hooks = [
    "awk '{{print $1}}' /etc/passwd",
    'echo {{ .Plan.Id }}',
    'echo {{- .x -}} and {{/* c */}}',
    '{{{{}}}}',
    '{{"{{"}}',
    'printf "}}{{" ; echo {{',
    "sh -c 'docker stop $SELF'",
    '',
  ];
  for (const hook of hooks) {
    it(`renders ${JSON.stringify(hook)} as itself, and reads back`, () => {
      const escaped = escapeGoTemplate(hook);
      expect(renderLikeGo(escaped)).to.equal(hook);
      expect(unescapeGoTemplate(escaped)).to.equal(hook);
    });
  }

  it('property: any text with braces, trims, quotes and comments renders as itself', () => {
    const alphabet = fc.constantFrom(
      '{',
      '}',
      '{{',
      '}}',
      '-',
      ' ',
      '"',
      '`',
      '/*',
      '*/',
      '\\',
      '\n',
      'a',
      '.',
    );
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')),
        (text) => {
          const escaped = escapeGoTemplate(text);
          expect(renderLikeGo(escaped)).to.equal(text);
          expect(unescapeGoTemplate(escaped)).to.equal(text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("a Backrest plan's hook command, rendered as Go would, is the label's hook plus our marker line", () => {
    const pre = "awk '{{print $1}}' /data/{{.Plan.Id}}.txt";
    const post = 'echo }} {{- done';
    const p = toBackrestPlan(plan('a', { hooks: { pre: [pre], post: [post] } })) as {
      hooks: { actionCommand: { command: string } }[];
    };
    const rendered = p.hooks.map((h) => renderLikeGo(h.actionCommand.command));
    expect(rendered).to.deep.equal([
      `${pre}\n# backrest-sidecar:pre`,
      `${post}\n# backrest-sidecar:post`,
    ]);
    expect(fromBackrestPlan(p).hooks).to.deep.equal({ pre: [pre], post: [post] });
  });
});
