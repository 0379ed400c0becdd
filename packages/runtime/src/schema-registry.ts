import type { Ajv, ErrorObject, Options as AjvOptions } from 'ajv';
import { createRequire } from 'node:module';
import { cloneData } from './clone-data.js';
import { parseLabelList } from './label-list.js';
import { precompiledValidators } from './precompiled-validators.js';

/**
 * Extension point: every binding of `JsonSchema` (a schema object with an `$id`) is registered with
 * the `SchemaRegistry` when the manager starts, before any resource is validated.
 */
export const JsonSchema = Symbol.for('dockop.JsonSchema');

export interface JsonSchema {
  $id: string;
  [keyword: string]: unknown;
}

/**
 * Extension point: a named string format (`cron`, `absolute-path`, ...). `validate` returns true
 * when valid, false or a string explaining what is wrong otherwise.
 */
export const SchemaFormat = Symbol.for('dockop.SchemaFormat');

export interface SchemaFormat {
  readonly name: string;
  validate(value: string): boolean | string;
}

export interface ValidationError {
  /** Dotted path into the validated value (`retention.keepDaily`, `paths[0]`); '' for the root. */
  path: string;
  /** The offending value after coercion (undefined for a missing required field). */
  value: unknown;
  /** The rule it broke, e.g. `type: integer`, `format: cron`, `required`, `minimum: 0`. */
  rule: string;
  message: string;
}

export interface ValidationResult<T = unknown> {
  valid: boolean;
  /** A coerced copy: label strings turned into booleans, numbers and arrays; unknown fields dropped. */
  value: T;
  errors: ValidationError[];
  /** Fields the schema does not know (`additionalProperties: false`); dropped from `value`. */
  warnings: string[];
}

export const SchemaRegistry = Symbol.for('dockop.SchemaRegistry');

export interface SchemaRegistry {
  /** Registers a schema by its `$id`. Throws when the `$id` is missing or already taken. */
  add(schema: JsonSchema): void;
  has(schemaId: string): boolean;
  get(schemaId: string): JsonSchema | undefined;
  /** Registers a format; must happen before a schema using it is first validated against. */
  addFormat(format: SchemaFormat): void;
  validate<T = unknown>(schemaId: string, value: unknown): ValidationResult<T>;
  /** True when `schemaId` is checked by code generated at build time (no compile at start). */
  isPrecompiled?(schemaId: string): boolean;
}

/** A validator as ajv compiles it: returns validity, leaves the errors on itself. */
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * Validators generated ahead of time with ajv's standalone code, with `DEFAULT_AJV_OPTIONS`
 * (the CLI's bundle generates them from every schema it registers: no ajv compile at start).
 */
export interface PrecompiledValidators {
  /** `$id` → the schema's `JSON.stringify` text the code was generated from. */
  readonly schemas: Readonly<Record<string, string>>;
  /**
   * Builds the validators. `formats` holds the registered (non-standard) formats as
   * `ajv.addFormat` gets them; the generated code brings ajv-formats' standard ones itself.
   */
  create(formats: Readonly<Record<string, unknown>>): Readonly<Record<string, CompiledValidator>>;
}

/** The options every registry uses unless told otherwise (precompiled code assumes them). */
export const DEFAULT_AJV_OPTIONS: Readonly<AjvOptions> = Object.freeze({
  allErrors: true,
  coerceTypes: true,
  useDefaults: true,
  strict: false,
  allowUnionTypes: true,
});

type SchemaNode = Record<string, unknown>;

/**
 * ajv and ajv-formats, loaded on first need: a program whose schemas are all precompiled (the
 * bundled CLI) never loads them. Resolved from this package (not from the caller, which may be a
 * bundle elsewhere): `@dockop/runtime` resolves to this package's own files in both cases.
 */
function loadAjv(): { Ajv: typeof Ajv; addFormats: (ajv: Ajv) => Ajv } {
  // CommonJS resolution: unaffected by the ESM hooks a bundle may install for its plugins.
  const here = createRequire(import.meta.url);
  let base = import.meta.url;
  try {
    base = here.resolve('@dockop/runtime');
  } catch {
    // Not resolvable by name from here: this file is in the package itself.
  }
  const require = createRequire(base);
  const formats = require('ajv-formats') as { default?: unknown };
  return {
    Ajv: (require('ajv') as { Ajv: typeof Ajv }).Ajv,
    addFormats: (formats.default ?? formats) as (ajv: Ajv) => Ajv,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typesOf(schema: SchemaNode): string[] {
  const t = schema['type'];
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return [];
}

/** `typesOf(schema).includes(type)`, without building the list (asked for every string in a spec). */
function hasType(schema: SchemaNode, type: string): boolean {
  const t = schema['type'];
  return t === type || (Array.isArray(t) && t.includes(type));
}

/** Exactly one type, `boolean` (`typesOf(schema)` is `['boolean']`). */
function onlyBoolean(schema: SchemaNode): boolean {
  const t = schema['type'];
  if (t === 'boolean') return true;
  return Array.isArray(t) && typesOf(schema).join() === 'boolean';
}

const BRANCH_KEYWORDS = ['allOf', 'anyOf', 'oneOf'] as const;

/** Dotted display path from a JSON pointer: `/a/0/b` → `a[0].b`. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function joinPath(base: string, prop: string): string {
  return base === '' ? prop : `${base}.${prop}`;
}

function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function deleteAt(root: unknown, pointer: string, prop: string): void {
  const parent = valueAt(root, pointer);
  if (isObject(parent)) delete parent[prop];
}

function ruleOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `type: ${String(p['type'])}`;
    case 'format':
      return `format: ${String(p['format'])}`;
    case 'enum':
      return `enum: ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'const':
      return `const: ${JSON.stringify(p['allowedValue'])}`;
    case 'pattern':
      return `pattern: ${String(p['pattern'])}`;
    case 'required':
      return 'required';
    default:
      return 'limit' in p ? `${e.keyword}: ${String(p['limit'])}` : e.keyword;
  }
}

/** Paths under these keywords are tentative branches; their unknown fields are not dropped. */
const TENTATIVE = /\/(anyOf|oneOf|not|if|then|else)\//;

/**
 * JSON Schema validation with ajv (allErrors, type coercion, defaults) plus label-friendly
 * coercion: a comma-separated string where the schema wants an array is split (items trimmed,
 * empties dropped), `True`/`FALSE` become booleans. Unknown fields become warnings, not failures.
 */
export class AjvSchemaRegistry implements SchemaRegistry {
  readonly #ajvOptions: AjvOptions;
  /** Created on first need: a schema without an up-to-date precompiled validator. */
  #ajv: Ajv | undefined;
  readonly #precompiled: PrecompiledValidators | undefined;
  #precompiledFns: Readonly<Record<string, CompiledValidator>> | undefined;
  readonly #schemas = new Map<string, JsonSchema>();
  /** Registered schemas whose precompiled validator matches their content. */
  readonly #usePrecompiled = new Set<string>();
  readonly #formats = new Map<string, SchemaFormat>();
  readonly #formatDefs = new Map<string, { type: 'string'; validate: (v: string) => boolean }>();
  /** `patternProperties` keys compiled once (they were compiled for every key of every spec). */
  readonly #patterns = new Map<string, RegExp>();

  /**
   * `precompiled` defaults to the validators built into this program (none unless bundled); it is
   * ignored when `ajv` options are given, since the code was generated with the defaults.
   */
  constructor(options: { ajv?: AjvOptions; precompiled?: PrecompiledValidators } = {}) {
    this.#ajvOptions = { ...DEFAULT_AJV_OPTIONS, ...options.ajv };
    this.#precompiled = options.ajv ? undefined : (options.precompiled ?? precompiledValidators);
  }

  add(schema: JsonSchema): void {
    const id = schema?.$id;
    if (typeof id !== 'string' || id === '') {
      throw new Error(
        `JSON Schema without $id cannot be registered: ${JSON.stringify(schema).slice(0, 120)}`,
      );
    }
    const text = JSON.stringify(schema);
    if (this.#schemas.has(id)) {
      if (JSON.stringify(this.#schemas.get(id)) === text) return;
      throw new Error(`JSON Schema $id "${id}" is already registered with different content`);
    }
    if (this.#precompiled && this.#precompiled.schemas[id] === text) {
      this.#usePrecompiled.add(id);
      this.#ajv?.addSchema(schema, id);
    } else {
      // Compiled here so a broken schema still fails at registration.
      this.#ajvInstance().addSchema(schema, id);
    }
    this.#schemas.set(id, schema);
  }

  has(schemaId: string): boolean {
    return this.#schemas.has(schemaId);
  }

  get(schemaId: string): JsonSchema | undefined {
    return this.#schemas.get(schemaId);
  }

  /** Every registered `$id`. */
  ids(): string[] {
    return [...this.#schemas.keys()];
  }

  /** True when `schemaId` is validated by build-time code rather than compiled at run time. */
  isPrecompiled(schemaId: string): boolean {
    return this.#usePrecompiled.has(schemaId);
  }

  addFormat(format: SchemaFormat): void {
    if (!format?.name) throw new Error('SchemaFormat without a name');
    if (this.#formats.has(format.name)) {
      if (this.#formats.get(format.name) === format) return;
      throw new Error(`schema format "${format.name}" is already registered`);
    }
    if (this.#precompiledFns) {
      throw new Error(`schema format "${format.name}" registered after validation began`);
    }
    const def = {
      type: 'string' as const,
      validate: (v: string) => {
        try {
          return format.validate(v) === true;
        } catch {
          return false;
        }
      },
    };
    this.#formats.set(format.name, format);
    this.#formatDefs.set(format.name, def);
    this.#ajv?.addFormat(format.name, def);
  }

  #ajvInstance(): Ajv {
    if (!this.#ajv) {
      const { Ajv, addFormats } = loadAjv();
      const ajv = new Ajv(this.#ajvOptions);
      addFormats(ajv);
      for (const [name, def] of this.#formatDefs) ajv.addFormat(name, def);
      for (const [id, schema] of this.#schemas) ajv.addSchema(schema, id);
      this.#ajv = ajv;
    }
    return this.#ajv;
  }

  #validatorFor(schemaId: string): CompiledValidator | undefined {
    if (this.#precompiled && this.#usePrecompiled.has(schemaId)) {
      this.#precompiledFns ??= this.#precompiled.create(Object.fromEntries(this.#formatDefs));
      const fn = this.#precompiledFns[schemaId];
      if (fn) return fn;
    }
    return this.#ajvInstance().getSchema(schemaId);
  }

  validate<T = unknown>(schemaId: string, value: unknown): ValidationResult<T> {
    const root = this.#schemas.get(schemaId);
    const validateFn = root ? this.#validatorFor(schemaId) : undefined;
    if (!validateFn || !root) {
      throw new Error(`no JSON Schema registered with $id "${schemaId}"`);
    }
    const listErrors: ValidationError[] = [];
    const copy = this.#prepare(root, cloneData(value), root, 0, '', listErrors);
    const warnings: string[] = [];
    let errors: ErrorObject[] = [];
    // Each pass drops the unknown fields ajv reported; a second pass then validates what is left.
    for (let pass = 0; pass < 8; pass++) {
      // A valid value (the common case) leaves `errors` null: nothing to copy or sort out.
      if (validateFn(copy)) {
        errors = [];
        break;
      }
      errors = [...(validateFn.errors ?? [])];
      const unknown = errors.filter(
        (e) => e.keyword === 'additionalProperties' && !TENTATIVE.test(e.schemaPath),
      );
      if (unknown.length === 0) break;
      for (const e of unknown) {
        const prop = String((e.params as { additionalProperty: string }).additionalProperty);
        const path = joinPath(pointerToPath(e.instancePath), prop);
        warnings.push(`unknown field "${path}" ignored`);
        deleteAt(copy, e.instancePath, prop);
      }
    }
    if (errors.length === 0 && listErrors.length === 0) {
      return { valid: true, value: copy as T, errors: [], warnings };
    }
    // A list that did not parse is reported once, with its reason, not also as "must be array".
    const listPaths = new Set(listErrors.map((e) => e.path));
    const out: ValidationError[] = [
      ...listErrors,
      ...errors.map((e) => this.#toError(e, copy)).filter((e) => !listPaths.has(e.path)),
    ];
    return { valid: out.length === 0, value: copy as T, errors: out, warnings };
  }

  #toError(e: ErrorObject, data: unknown): ValidationError {
    let path = pointerToPath(e.instancePath);
    let value = valueAt(data, e.instancePath);
    if (e.keyword === 'required') {
      path = joinPath(path, String((e.params as { missingProperty: string }).missingProperty));
      value = undefined;
    }
    let message = e.message ?? e.keyword;
    if (e.keyword === 'format') {
      const fmt = this.#formats.get(String((e.params as { format: string }).format));
      if (fmt && typeof value === 'string') {
        let why: boolean | string;
        try {
          why = fmt.validate(value);
        } catch (err) {
          why = err instanceof Error ? err.message : String(err);
        }
        if (typeof why === 'string') message = `${message}: ${why}`;
      }
    }
    return { path, value, rule: ruleOf(e), message };
  }

  /** Follows `$ref`s; returns the target and the document its own local refs resolve against. */
  #resolve(
    schema: unknown,
    root: SchemaNode,
    depth: number,
  ): { schema: SchemaNode; root: SchemaNode } | undefined {
    if (!isObject(schema)) return undefined;
    const ref = schema['$ref'];
    if (typeof ref !== 'string' || depth > 32) return { schema, root };
    const hash = ref.indexOf('#');
    const base = hash >= 0 ? ref.slice(0, hash) : ref;
    const fragment = hash >= 0 ? ref.slice(hash + 1) : '';
    const doc = base === '' ? root : (this.#schemas.get(base) as SchemaNode | undefined);
    if (!doc) return undefined;
    const target = fragment === '' ? doc : valueAt(doc, fragment);
    return this.#resolve(target, doc, depth + 1);
  }

  /**
   * Label-friendly coercion ajv does not do: split strings into arrays (the label list grammar,
   * `parseLabelList`), case-fold booleans. A string that is not a valid list stays a string and
   * its reason is recorded in `listErrors` under its display path.
   */
  #prepare(
    schemaIn: unknown,
    value: unknown,
    root: SchemaNode,
    depth: number,
    path = '',
    listErrors: ValidationError[] = [],
  ): unknown {
    const resolved = this.#resolve(schemaIn, root, depth);
    if (!resolved || depth > 64) return value;
    const { schema, root: docRoot } = resolved;
    let v = value;
    if (typeof v === 'string') {
      const branches = this.#branches(schema, docRoot, depth);
      const allowsString = hasType(schema, 'string') || branches.some((b) => hasType(b, 'string'));
      const wantsArray = hasType(schema, 'array') || branches.some((b) => hasType(b, 'array'));
      if (wantsArray && !allowsString) {
        const list = parseLabelList(v);
        if (!list.ok) {
          listErrors.push({ path, value: v, rule: 'list', message: list.message });
          return v;
        }
        v = list.items;
      } else if (onlyBoolean(schema) && /^(true|false)$/i.test(v)) {
        return v.toLowerCase() === 'true';
      }
    }
    if (Array.isArray(v)) {
      const items = schema['items'];
      if (isObject(items))
        v = v.map((item, i) =>
          this.#prepare(items, item, docRoot, depth + 1, `${path}[${i}]`, listErrors),
        );
    } else if (isObject(v)) {
      const props = isObject(schema['properties']) ? schema['properties'] : {};
      const patterns = isObject(schema['patternProperties']) ? schema['patternProperties'] : {};
      const additional = schema['additionalProperties'];
      for (const k of Object.keys(v)) {
        // `__proto__` can't be assigned as data; left as is, ajv drops or refuses it.
        if (k === '__proto__') continue;
        const child = v[k];
        // Own properties only: a key `toString` must not find Object.prototype.toString.
        let sub: unknown = Object.hasOwn(props, k) ? props[k] : undefined;
        if (sub === undefined) {
          for (const pattern of Object.keys(patterns)) {
            if (this.#pattern(pattern).test(k)) {
              sub = patterns[pattern];
              break;
            }
          }
        }
        if (sub === undefined && isObject(additional)) sub = additional;
        if (sub !== undefined)
          v[k] = this.#prepare(sub, child, docRoot, depth + 1, joinPath(path, k), listErrors);
      }
    }
    for (const branch of BRANCH_KEYWORDS) {
      const list = schema[branch];
      if (Array.isArray(list) && (isObject(v) || Array.isArray(v))) {
        for (const b of list) v = this.#prepare(b, v, docRoot, depth + 1, path, listErrors);
      }
    }
    return v;
  }

  #branches(schema: SchemaNode, root: SchemaNode, depth: number): SchemaNode[] {
    const out: SchemaNode[] = [];
    for (const key of BRANCH_KEYWORDS) {
      const list = schema[key];
      if (!Array.isArray(list)) continue;
      for (const b of list) {
        const r = this.#resolve(b, root, depth + 1);
        if (r) out.push(r.schema);
      }
    }
    return out;
  }

  #pattern(source: string): RegExp {
    let re = this.#patterns.get(source);
    if (!re) this.#patterns.set(source, (re = new RegExp(source, 'u')));
    return re;
  }
}
