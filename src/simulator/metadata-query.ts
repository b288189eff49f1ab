/**
 * The `q` parameter of List Sessions: `user_metadata['key']['nested']:'value'` — string equality
 * on one metadata path.
 */
export interface MetadataQuery {
  /** Keys from the top of `userMetadata` down, e.g. `['key', 'nested']`. */
  path: string[];
  value: string;
}

/** Why a `q` string is not valid; the message is returned to the client with a 400. */
export class MetadataQueryError extends Error {
  constructor(q: string, reason: string) {
    super(`invalid q ${JSON.stringify(q)}: ${reason}; expected user_metadata['key']['nested']:'value'`);
    this.name = 'MetadataQueryError';
  }
}

const PREFIX = 'user_metadata';

/**
 * Parses a `q` string. Keys and the value are single-quoted (a quote inside is written `\'`);
 * spaces around `:` are allowed.
 */
export function parseMetadataQuery(q: string): MetadataQuery {
  const src = q.trim();
  if (!src.startsWith(PREFIX)) throw new MetadataQueryError(q, `must start with ${PREFIX}`);
  let i = PREFIX.length;
  const path: string[] = [];
  const readQuoted = (): string => {
    if (src[i] !== "'") throw new MetadataQueryError(q, `expected ' at position ${i}`);
    i += 1;
    let out = '';
    while (i < src.length) {
      const c = src[i];
      if (c === '\\' && i + 1 < src.length) {
        out += src[i + 1];
        i += 2;
        continue;
      }
      if (c === "'") {
        i += 1;
        return out;
      }
      out += c;
      i += 1;
    }
    throw new MetadataQueryError(q, 'unterminated quote');
  };
  while (src[i] === '[') {
    i += 1;
    const key = readQuoted();
    if (src[i] !== ']') throw new MetadataQueryError(q, `expected ] at position ${i}`);
    i += 1;
    if (key === '') throw new MetadataQueryError(q, 'empty key');
    path.push(key);
  }
  if (path.length === 0) throw new MetadataQueryError(q, "expected at least one ['key']");
  while (src[i] === ' ') i += 1;
  if (src[i] !== ':') throw new MetadataQueryError(q, `expected : at position ${i}`);
  i += 1;
  while (src[i] === ' ') i += 1;
  const value = readQuoted();
  if (i !== src.length) throw new MetadataQueryError(q, `unexpected text at position ${i}`);
  return { path, value };
}

/** True when the value at `query.path` in `metadata` is a string (or number/boolean) equal to `query.value`. */
export function matchesMetadataQuery(metadata: Record<string, unknown> | undefined, query: MetadataQuery): boolean {
  let v: unknown = metadata;
  for (const key of query.path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === 'string') return v === query.value;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v) === query.value;
  return false;
}
