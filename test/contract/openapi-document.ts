import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// Browserbase's official OpenAPI document (a verbatim copy) and JSON-schema validators built
// from it: the answers a path + method declares per status, its request body, and the documented
// error shape `{statusCode, error, message}`.

type Schema = Record<string, unknown>;
interface Operation {
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export const openApiDocument = JSON.parse(readFileSync(new URL('./browserbase-openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;

const DOC_ID = 'browserbase-openapi';
const ajv = new Ajv({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
// The whole document is one schema, so `doc#/components/schemas/X` resolves; OpenAPI's own
// keywords (`openapi`, `paths`, `nullable`, `x-...`) are ignored with strict mode off.
ajv.addSchema(openApiDocument, DOC_ID);

/** A copy of a schema taken out of the document, its local `$ref`s pointed back into it. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : rebase(v)]),
  );
}

const compiled = new Map<string, ValidateFunction>();
function validatorOf(key: string, schema: Schema): ValidateFunction {
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(rebase(schema) as Schema);
    compiled.set(key, v);
  }
  return v;
}

function operation(method: string, path: string): Operation {
  const op = openApiDocument.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`the document has no ${method} ${path}`);
  return op;
}

const jsonSchemaOf = (content: Record<string, { schema?: Schema }> | undefined): Schema | undefined => content?.['application/json']?.schema;

/** The documented error body, as the document declares it (on the recording-downloads endpoints). */
export const errorSchema = jsonSchemaOf(operation('GET', '/v1/sessions/{id}/recording/downloads').responses['404']?.content)!;

const describeErrors = (v: ValidateFunction): string[] =>
  (v.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'} ${JSON.stringify(e.params)}`);

/**
 * What is wrong with an answer of `method path` (the document's path template) per the document:
 * an empty list when it conforms. A declared status is checked against its schema; an error
 * status the path does not declare against the documented error shape; any other status is wrong.
 */
export function answerProblems(method: string, path: string, status: number, body: unknown): string[] {
  const declared = operation(method, path).responses[String(status)];
  let schema: Schema | undefined;
  let key: string;
  if (declared) {
    schema = jsonSchemaOf(declared.content);
    key = `${method} ${path} ${status}`;
    if (!schema) return body === undefined ? [] : [`${status} declares no body, got ${JSON.stringify(body)}`];
  } else if (status >= 400) {
    schema = errorSchema;
    key = 'error';
    if ((body as { statusCode?: unknown } | undefined)?.statusCode !== status) return [`statusCode of ${JSON.stringify(body)} is not ${status}`];
  } else {
    return [`${method} ${path} does not declare status ${status}`];
  }
  const v = validatorOf(key, schema);
  return v(body) ? [] : describeErrors(v);
}

/** What is wrong with a request body of `method path` per the document's request schema. */
export function requestBodyProblems(method: string, path: string, body: unknown): string[] {
  const schema = jsonSchemaOf(operation(method, path).requestBody?.content);
  if (!schema) throw new Error(`the document declares no JSON body for ${method} ${path}`);
  const v = validatorOf(`${method} ${path} request`, schema);
  return v(body) ? [] : describeErrors(v);
}
