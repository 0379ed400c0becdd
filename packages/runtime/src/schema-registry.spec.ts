import { expect } from 'chai';
import { createRequire } from 'node:module';
import { evaluatePrecompiled, standaloneValidators } from './precompile.js';
import {
  AjvSchemaRegistry,
  pointerToPath,
  type JsonSchema,
  type PrecompiledValidators,
} from './schema-registry.js';

const workload: JsonSchema = {
  $id: 'https://dockop.io/schemas/test-workload.json',
  type: 'object',
  additionalProperties: false,
  required: ['repo'],
  properties: {
    enable: { type: 'boolean' },
    repo: { type: 'string', minLength: 1 },
    priority: { type: 'integer', minimum: 0 },
    ratio: { type: 'number' },
    paths: { type: 'array', items: { type: 'string', format: 'absolute-path' } },
    ports: { type: 'array', items: { type: 'integer' } },
    mode: { enum: ['fast', 'safe'] },
    schedule: { type: 'string', format: 'cron' },
    retention: { $ref: '#/$defs/retention' },
    hooks: { $ref: 'https://dockop.io/schemas/test-hooks.json' },
    flexible: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    withDefault: { type: 'string', default: 'dflt' },
  },
  $defs: {
    retention: {
      type: 'object',
      additionalProperties: false,
      properties: {
        daily: { type: 'integer', minimum: 0 },
        tags: { type: 'array', items: { type: 'string' } },
      },
    },
  },
};

const hooks: JsonSchema = {
  $id: 'https://dockop.io/schemas/test-hooks.json',
  type: 'object',
  properties: { pre: { type: 'array', items: { type: 'string' } } },
};

function registry(): AjvSchemaRegistry {
  const r = new AjvSchemaRegistry();
  r.addFormat({
    name: 'absolute-path',
    validate: (v) => v.startsWith('/') || `"${v}" is not absolute`,
  });
  r.addFormat({ name: 'cron', validate: (v) => v.trim().split(/\s+/).length === 5 });
  r.add(hooks);
  r.add(workload);
  return r;
}

describe('AjvSchemaRegistry', () => {
  it('coerces label strings to booleans, integers and numbers and returns a copy', () => {
    const input = { enable: 'true', repo: 'main', priority: '3', ratio: '0.5' };
    const r = registry().validate(workload.$id, input);
    expect(r.valid, JSON.stringify(r.errors)).to.equal(true);
    expect(r.value).to.deep.include({ enable: true, priority: 3, ratio: 0.5, withDefault: 'dflt' });
    expect(input.enable).to.equal('true'); // original untouched
  });

  it('accepts booleans case-insensitively', () => {
    const r = registry().validate<{ enable: boolean }>(workload.$id, { enable: 'TRUE', repo: 'x' });
    expect(r.valid).to.equal(true);
    expect(r.value.enable).to.equal(true);
    const f = registry().validate<{ enable: boolean }>(workload.$id, {
      enable: 'False',
      repo: 'x',
    });
    expect(f.value.enable).to.equal(false);
  });

  it('splits comma-separated strings where the schema wants an array, trimming and dropping empties', () => {
    const r = registry().validate<{ paths: string[]; ports: number[] }>(workload.$id, {
      repo: 'x',
      paths: ' /data , /config,, ',
      ports: '80, 443',
    });
    expect(r.valid, JSON.stringify(r.errors)).to.equal(true);
    expect(r.value.paths).to.deep.equal(['/data', '/config']);
    expect(r.value.ports).to.deep.equal([80, 443]);
  });

  it('splits with the label list grammar: quotes protect commas, JSON arrays, errors name the path', () => {
    const r = registry().validate<{ hooks: { pre: string[] }; paths: string[] }>(workload.$id, {
      repo: 'x',
      hooks: { pre: 'sh -c "pg_dump -t users,orders", echo done' },
      paths: '["/data/a,b", "/data/c"]',
    });
    expect(r.valid, JSON.stringify(r.errors)).to.equal(true);
    expect(r.value.hooks.pre).to.deep.equal(['sh -c "pg_dump -t users,orders"', 'echo done']);
    expect(r.value.paths).to.deep.equal(['/data/a,b', '/data/c']);
    const bad = registry().validate(workload.$id, { repo: 'x', hooks: { pre: 'sh -c "a,b' } });
    expect(bad.valid).to.equal(false);
    expect(bad.errors).to.have.length(1);
    expect(bad.errors[0]).to.deep.include({ path: 'hooks.pre', value: 'sh -c "a,b', rule: 'list' });
    expect(bad.errors[0]?.message).to.match(/unterminated double quote/);
  });

  it('splits through local and cross-schema $refs', () => {
    const r = registry().validate<{
      retention: { daily: number; tags: string[] };
      hooks: { pre: string[] };
    }>(workload.$id, {
      repo: 'x',
      retention: { daily: '7', tags: 'a,b' },
      hooks: { pre: 'echo 1, echo 2' },
    });
    expect(r.valid, JSON.stringify(r.errors)).to.equal(true);
    expect(r.value.retention).to.deep.equal({ daily: 7, tags: ['a', 'b'] });
    expect(r.value.hooks.pre).to.deep.equal(['echo 1', 'echo 2']);
  });

  describe('hostile keys (own properties only)', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    afterEach(() => {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(before);
    });
    const map: JsonSchema = {
      $id: 'https://dockop.io/schemas/test-map.json',
      type: 'object',
      properties: { known: { type: 'string' } },
      additionalProperties: { type: 'array', items: { type: 'string' } },
    };

    it('gives keys named like inherited members the additionalProperties schema', () => {
      const r = registry();
      r.add(map);
      const spec = Object.assign(Object.create(null) as Record<string, unknown>, {
        known: 'k',
        toString: 'a,b',
        constructor: 'c,d',
        hasOwnProperty: 'e',
        valueOf: 'f,g',
      });
      const res = r.validate<Record<string, unknown>>(map.$id, spec);
      expect(res.valid, JSON.stringify(res.errors)).to.equal(true);
      expect(res.value['toString']).to.deep.equal(['a', 'b']);
      expect(res.value['constructor']).to.deep.equal(['c', 'd']);
      expect(res.value['hasOwnProperty']).to.deep.equal(['e']);
      expect(res.value['valueOf']).to.deep.equal(['f', 'g']);
    });

    it('drops __proto__, constructor and prototype keys as unknown without walking them', () => {
      const spec = JSON.parse(
        '{"repo":"x","__proto__":{"enable":"true","paths":"/etc"},"constructor":{"prototype":{"polluted":"1"}},"retention":{"prototype":{"x":"1"}}}',
      ) as unknown;
      const res = registry().validate<Record<string, unknown>>(workload.$id, spec);
      expect(res.valid, JSON.stringify(res.errors)).to.equal(true);
      expect(res.warnings).to.include.members([
        'unknown field "__proto__" ignored',
        'unknown field "constructor" ignored',
        'unknown field "retention.prototype" ignored',
      ]);
      expect(Object.getPrototypeOf(res.value)).to.equal(Object.prototype);
      expect(res.value['enable']).to.equal(undefined);
      expect(res.value['paths']).to.equal(undefined);
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    });
  });

  it('does not split where a string is also allowed', () => {
    const r = registry().validate<{ flexible: unknown }>(workload.$id, {
      repo: 'x',
      flexible: 'a,b',
    });
    expect(r.valid).to.equal(true);
    expect(r.value.flexible).to.equal('a,b');
  });

  it('reports every error with path, value, rule and message', () => {
    const r = registry().validate(workload.$id, {
      enable: 'maybe',
      priority: '-1',
      mode: 'turbo',
      retention: { daily: 'x' },
      paths: '/ok,relative',
    });
    expect(r.valid).to.equal(false);
    const byPath = Object.fromEntries(r.errors.map((e) => [e.path, e]));
    expect(byPath['enable']).to.deep.include({ value: 'maybe', rule: 'type: boolean' });
    expect(byPath['priority']).to.deep.include({ value: -1, rule: 'minimum: 0' });
    expect(byPath['mode']!.rule).to.equal('enum: "fast" | "safe"');
    expect(byPath['retention.daily']).to.deep.include({ value: 'x', rule: 'type: integer' });
    expect(byPath['repo']).to.deep.include({ value: undefined, rule: 'required' });
    expect(byPath['paths[1]']).to.deep.include({
      value: 'relative',
      rule: 'format: absolute-path',
    });
    // a SchemaFormat's explanation becomes part of the message
    expect(byPath['paths[1]']!.message).to.contain('"relative" is not absolute');
    expect(byPath['enable']!.message).to.equal('must be boolean');
  });

  it('uses a boolean-returning format without an explanation', () => {
    const r = registry().validate(workload.$id, { repo: 'x', schedule: 'not a cron' });
    expect(r.errors).to.have.length(1);
    expect(r.errors[0]).to.deep.include({
      path: 'schedule',
      value: 'not a cron',
      rule: 'format: cron',
    });
    expect(registry().validate(workload.$id, { repo: 'x', schedule: '0 3 * * *' }).valid).to.equal(
      true,
    );
  });

  it('turns unknown properties into warnings and drops them, at any depth', () => {
    const r = registry().validate<Record<string, unknown>>(workload.$id, {
      repo: 'x',
      colour: 'blue',
      retention: { daily: 1, weekly: 2 },
    });
    expect(r.valid).to.equal(true);
    expect(r.warnings).to.have.members([
      'unknown field "colour" ignored',
      'unknown field "retention.weekly" ignored',
    ]);
    expect(r.value).to.not.have.property('colour');
    expect(r.value['retention']).to.deep.equal({ daily: 1 });
  });

  it('still fails on real errors next to unknown fields', () => {
    const r = registry().validate(workload.$id, { colour: 'blue', priority: 'high' });
    expect(r.valid).to.equal(false);
    expect(r.warnings).to.deep.equal(['unknown field "colour" ignored']);
    expect(r.errors.map((e) => e.path)).to.have.members(['repo', 'priority']);
  });

  it('refuses schemas without $id, duplicate ids with other content, and unknown ids', () => {
    const r = registry();
    expect(() => r.add({} as JsonSchema)).to.throw(/without \$id/);
    r.add(hooks); // same content: idempotent
    expect(() => r.add({ ...hooks, type: 'string' })).to.throw(/already registered/);
    expect(() => r.validate('nope', {})).to.throw(/no JSON Schema registered with \$id "nope"/);
    expect(r.has(hooks.$id)).to.equal(true);
    expect(r.get(hooks.$id)).to.equal(hooks);
    expect(r.ids()).to.have.members([hooks.$id, workload.$id]);
  });

  it('refuses a second format of the same name and treats a throwing format as invalid', () => {
    const r = new AjvSchemaRegistry();
    const f = {
      name: 'boom',
      validate: (): boolean => {
        throw new Error('kaput');
      },
    };
    r.addFormat(f);
    r.addFormat(f);
    expect(() => r.addFormat({ name: 'boom', validate: () => true })).to.throw(
      /already registered/,
    );
    r.add({ $id: 'b', type: 'string', format: 'boom' });
    const res = r.validate('b', 'x');
    expect(res.valid).to.equal(false);
    expect(res.errors[0]!.message).to.contain('kaput');
  });

  it('has the standard ajv-formats formats', () => {
    const r = new AjvSchemaRegistry();
    r.add({ $id: 'e', type: 'string', format: 'email' });
    expect(r.validate('e', 'a@b.io').valid).to.equal(true);
    expect(r.validate('e', 'nope').valid).to.equal(false);
  });

  it('pointerToPath renders dotted paths with indexes', () => {
    expect(pointerToPath('')).to.equal('');
    expect(pointerToPath('/a/0/b')).to.equal('a[0].b');
    expect(pointerToPath('/a~1b/c~0d')).to.equal('a/b.c~d');
  });
});

describe('AjvSchemaRegistry with precompiled (ajv standalone) validators', () => {
  const precompile = (schemas: JsonSchema[], formats: string[]): PrecompiledValidators =>
    evaluatePrecompiled(standaloneValidators(schemas, formats), createRequire(import.meta.url));
  const formats = ['absolute-path', 'cron'];
  let precompiled: PrecompiledValidators;
  before(() => (precompiled = precompile([hooks, workload], formats)));

  /** The spec's registry, once compiled at run time and once from build-time code. */
  function both(): [AjvSchemaRegistry, AjvSchemaRegistry] {
    const pre = new AjvSchemaRegistry({ precompiled });
    pre.addFormat({
      name: 'absolute-path',
      validate: (v) => v.startsWith('/') || `"${v}" is not absolute`,
    });
    pre.addFormat({ name: 'cron', validate: (v) => v.trim().split(/\s+/).length === 5 });
    pre.add(hooks);
    pre.add(workload);
    return [registry(), pre];
  }

  it('uses the generated code exactly when the schema text matches', () => {
    const [compiled, pre] = both();
    expect(compiled.isPrecompiled(workload.$id)).to.equal(false);
    expect(pre.isPrecompiled(workload.$id)).to.equal(true);
    expect(pre.isPrecompiled(hooks.$id)).to.equal(true);
    // Same $id, other content: compiled at run time, whatever was generated.
    const changed = new AjvSchemaRegistry({ precompiled });
    changed.add({ ...hooks, required: ['pre'] });
    expect(changed.isPrecompiled(hooks.$id)).to.equal(false);
    expect(changed.validate(hooks.$id, {}).errors.map((e) => e.rule)).to.deep.equal(['required']);
  });

  it('gives the same results as run-time compilation (coercion, defaults, errors, warnings)', () => {
    const inputs: unknown[] = [
      { enable: 'TRUE', repo: 'main', priority: '3', ratio: '0.5', paths: '/a, /b' },
      {
        enable: 'maybe',
        priority: '-1',
        mode: 'turbo',
        retention: { daily: 'x' },
        paths: '/ok,relative',
      },
      {
        repo: 'r',
        schedule: '* * *',
        hooks: { pre: 'a,b' },
        extra: 1,
        retention: { daily: 1, x: 2 },
      },
      { repo: 'r', flexible: 'a,b', ports: '80, 443' },
      'not an object',
    ];
    const [compiled, pre] = both();
    for (const input of inputs) {
      expect(pre.validate(workload.$id, input), JSON.stringify(input)).to.deep.equal(
        compiled.validate(workload.$id, input),
      );
    }
  });

  it('brings the standard ajv-formats formats', () => {
    const email: JsonSchema = { $id: 'e', type: 'string', format: 'email' };
    const r = new AjvSchemaRegistry({ precompiled: precompile([email], []) });
    r.add(email);
    expect(r.isPrecompiled('e')).to.equal(true);
    expect(r.validate('e', 'a@b.io').valid).to.equal(true);
    expect(r.validate('e', 'nope').valid).to.equal(false);
  });

  it('is not used with other ajv options (the code assumes the defaults)', () => {
    const r = new AjvSchemaRegistry({ precompiled, ajv: { coerceTypes: false } });
    r.add(hooks);
    expect(r.isPrecompiled(hooks.$id)).to.equal(false);
  });
});
