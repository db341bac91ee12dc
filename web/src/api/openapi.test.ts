// @vitest-environment node
// The API schemas (docs/openapi/*.yaml) against the responses the server really writes.
//
// The C++ API tests keep every response shape as a golden file under tests/fixtures/, compared
// byte for byte; each schema names its goldens under `x-golden` on the response they answer. Here
// every golden is validated against that response's schema (JSON Schema 2020-12, objects closed
// with additionalProperties: false), so a field the server adds, drops or retypes fails the C++
// test first and, once its golden is rewritten, this one until the schema says the same. The UI's
// types are generated from teletrace-v1.yaml, so the UI then fails to compile where it is affected.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import { NANO_KEYS } from './types';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const openapiDir = `${repo}docs/openapi/`;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Doc {
  file: string;
  doc: JsonObject;
  schemas: JsonObject;
}

/** A copy of `value` with local refs `#/components/schemas/X` turned into `#/$defs/X`. */
function rewriteRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', '#/$defs/') : rewriteRefs(v);
  }
  return out;
}

/** Every `x-...` key used inside the schemas, declared to Ajv so strict mode accepts only those. */
function extensionKeys(value: Json, into: Set<string>): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => extensionKeys(v, into));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('x-')) into.add(k);
      extensionKeys(v, into);
    }
  }
  return into;
}

function loadDocs(): Doc[] {
  return readdirSync(openapiDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const doc = parseYaml(readFileSync(openapiDir + file, 'utf8')) as JsonObject;
      const components = (doc.components ?? {}) as JsonObject;
      return { file, doc, schemas: (components.schemas ?? {}) as JsonObject };
    });
}

function compiler(d: Doc): (schema: Json) => ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  for (const k of extensionKeys(d.schemas, new Set())) ajv.addKeyword(k);
  for (const f of ['int32', 'int64', 'uint64', 'float', 'double', 'byte', 'date-time']) ajv.addFormat(f, true);
  const defs = rewriteRefs(d.schemas) as JsonObject;
  return (schema) => ajv.compile({ ...(rewriteRefs(schema) as JsonObject), $defs: defs });
}

interface GoldenCase {
  where: string;
  golden: string;
  validate: ValidateFunction;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

/** Every response of every operation, its $ref resolved, with where it sits. */
function responses(d: Doc): { where: string; status: string; response: JsonObject }[] {
  const shared = ((d.doc.components as JsonObject | undefined)?.responses ?? {}) as JsonObject;
  const out: { where: string; status: string; response: JsonObject }[] = [];
  for (const [path, item] of Object.entries((d.doc.paths ?? {}) as JsonObject)) {
    for (const method of HTTP_METHODS) {
      const op = (item as JsonObject)[method] as JsonObject | undefined;
      if (!op) continue;
      for (const [status, r] of Object.entries((op.responses ?? {}) as JsonObject)) {
        let response = r as JsonObject;
        const ref = response.$ref;
        if (typeof ref === 'string') {
          const name = ref.replace('#/components/responses/', '');
          response = shared[name] as JsonObject;
          if (!response) throw new Error(`${d.file} ${method.toUpperCase()} ${path}: unresolved ${ref}`);
        }
        out.push({ where: `${d.file} ${method.toUpperCase()} ${path} ${status}`, status, response });
      }
    }
  }
  return out;
}

function jsonSchemaOf(response: JsonObject): Json | undefined {
  const content = (response.content ?? {}) as JsonObject;
  const media = (content['application/json'] ?? undefined) as JsonObject | undefined;
  return media?.schema;
}

function goldenCases(d: Doc): GoldenCase[] {
  const compile = compiler(d);
  const cases: GoldenCase[] = [];
  const seen = new Set<string>();
  for (const { where, response } of responses(d)) {
    const goldens = (response['x-golden'] ?? []) as string[];
    if (goldens.length === 0) continue;
    const schema = jsonSchemaOf(response);
    if (schema === undefined) throw new Error(`${where}: x-golden on a response without an application/json schema`);
    const validate = compile(schema);
    for (const golden of goldens) {
      // A shared error response is listed by many operations: validate its goldens once.
      const key = `${golden} ${JSON.stringify(schema)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      cases.push({ where, golden, validate });
    }
  }
  return cases;
}

function readGolden(golden: string): Json {
  return JSON.parse(readFileSync(repo + golden, 'utf8')) as Json;
}

function errorsOf(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');
}

const docs = loadDocs();

describe('API schemas', () => {
  it('exist for every API the server speaks', () => {
    expect(docs.map((d) => d.file)).toEqual(['jaeger.yaml', 'teletrace-v1.yaml', 'tempo.yaml', 'zipkin.yaml']);
  });

  for (const d of docs) {
    describe(d.file, () => {
      it('is OpenAPI 3.1 with only local refs', () => {
        expect(d.doc.openapi).toBe('3.1.0');
        const refs = JSON.stringify(d.doc).match(/"\$ref":"[^"]*"/g) ?? [];
        expect(refs.length).toBeGreaterThan(0);
        for (const ref of refs) expect(ref).toMatch(/^"\$ref":"#\/components\/(schemas|responses|parameters|headers)\/[\w-]+"$/);
      });

      it('names a golden for every successful JSON response', () => {
        const missing = responses(d)
          .filter(({ status, response }) => status.startsWith('2') && jsonSchemaOf(response) !== undefined)
          .filter(({ response }) => ((response['x-golden'] ?? []) as string[]).length === 0)
          .map(({ where }) => where);
        expect(missing).toEqual([]);
      });

      for (const c of goldenCases(d)) {
        it(`${c.golden} matches ${c.where}`, () => {
          const ok = c.validate(readGolden(c.golden));
          expect(ok ? '' : errorsOf(c.validate)).toBe('');
        });
      }
    });
  }

  it('catches a golden with an extra, a missing or a retyped field', () => {
    const v1 = docs.find((d) => d.file === 'teletrace-v1.yaml')!;
    const c = goldenCases(v1).find((g) => g.golden === 'tests/fixtures/v1/trace.json')!;
    const golden = () => readGolden(c.golden) as { spans: { span: JsonObject }[] };
    expect(c.validate(golden())).toBe(true);

    const extra = golden();
    extra.spans[1].span.parentId = 'x';
    expect(c.validate(extra)).toBe(false);
    expect(errorsOf(c.validate)).toContain('must NOT have additional properties');

    const missing = golden();
    delete missing.spans[0].span.flags;
    expect(c.validate(missing)).toBe(false);
    expect(errorsOf(c.validate)).toContain("must have required property 'flags'");

    const retyped = golden();
    retyped.spans[2].span.kind = 'SERVER';
    expect(c.validate(retyped)).toBe(false);
    expect(errorsOf(c.validate)).toContain('must be equal to one of the allowed values');
  });

  it('marks exactly the keys json.ts parses as nanoseconds with the Nano schema', () => {
    // json.ts turns the values of NANO_KEYS into exact decimal strings, and the generated types
    // say NanoString for every property whose schema is Nano: the two lists must be one.
    const v1 = docs.find((d) => d.file === 'teletrace-v1.yaml')!;
    const nanoProps = new Set<string>();
    const walk = (value: Json) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') {
        const props = value.properties;
        if (props && typeof props === 'object' && !Array.isArray(props)) {
          for (const [k, s] of Object.entries(props)) {
            if ((s as JsonObject).$ref === '#/components/schemas/Nano') nanoProps.add(k);
          }
        }
        Object.values(value).forEach(walk);
      }
    };
    walk(v1.schemas);
    expect([...nanoProps].sort()).toEqual([...NANO_KEYS].sort());
  });
});
