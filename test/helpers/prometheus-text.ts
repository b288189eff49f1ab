/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on any
 * line a Prometheus server would reject, and checks the rules a scrape relies on (one TYPE per
 * family, before its samples, samples of a family together, no duplicate series, histogram
 * buckets cumulative with `+Inf` = `_count`, counters not negative).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  const finished = new Set<string>();
  let current: string | undefined;
  const fail = (n: number, line: string, why: string): never => {
    throw new Error(`line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
  };
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, n) => {
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) fail(n, line, 'bad metric name');
      const fam = families.get(name) ?? { name, type: 'untyped' as Family['type'], samples: [] };
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) fail(n, line, 'unknown type');
        if (fam.samples.length > 0 || (families.has(name) && fam.type !== 'untyped')) fail(n, line, 'TYPE after samples or twice');
        fam.type = rest as Family['type'];
      } else {
        if (fam.help !== undefined) fail(n, line, 'HELP twice');
        fam.help = rest;
      }
      families.set(name, fam);
      return;
    }
    const sample = parseSampleLine(line, (why) => fail(n, line, why));
    const familyName = familyOf(sample.name, families);
    if (current !== familyName) {
      if (finished.has(familyName)) fail(n, line, `samples of ${familyName} are not together`);
      if (current) finished.add(current);
      current = familyName;
    }
    const series = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seriesSeen.has(series)) fail(n, line, 'duplicate series');
    seriesSeen.add(series);
    const fam = families.get(familyName) ?? { name: familyName, type: 'untyped' as const, samples: [] };
    fam.samples.push(sample);
    families.set(familyName, fam);
  });
  for (const fam of families.values()) checkFamily(fam);
  return families;
}

function parseSampleLine(line: string, fail: (why: string) => never): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) fail('not a sample line');
  const [, name = '', rawLabels, rawValue = ''] = m!;
  const labels: Record<string, string> = {};
  if (rawLabels) {
    let rest = rawLabels.slice(1, -1);
    while (rest.length > 0) {
      const lm = /^([^=]+)="((?:[^"\\\n]|\\["\\n])*)"(,?)/.exec(rest);
      if (!lm) fail('bad label set');
      const [whole = '', labelName = '', value = '', comma] = lm!;
      if (!LABEL_NAME.test(labelName) || labelName.startsWith('__')) fail(`bad label name ${labelName}`);
      if (labelName in labels) fail(`label ${labelName} twice`);
      labels[labelName] = value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(whole.length);
      if (!comma && rest.length > 0) fail('labels not separated by a comma');
    }
  }
  const value = parseValue(rawValue);
  if (value === undefined) fail(`bad value ${rawValue}`);
  return { name, labels, value: value! };
}

function parseValue(s: string): number | undefined {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      const t = families.get(base)?.type;
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return sampleName;
}

function checkFamily(fam: Family): void {
  if (fam.type === 'counter') {
    for (const s of fam.samples) if (!(s.value >= 0)) throw new Error(`${s.name}: counter value ${s.value} is negative`);
  }
  if (fam.type !== 'histogram') return;
  const groups = new Map<string, Sample[]>();
  for (const s of fam.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name === `${fam.name}_bucket`);
    let last = -Infinity;
    let lastValue = 0;
    for (const b of buckets) {
      const le = parseValue(b.labels.le ?? '');
      if (le === undefined) throw new Error(`${fam.name}: bucket without a valid le`);
      if (le <= last) throw new Error(`${fam.name}: buckets not in increasing le order`);
      if (b.value < lastValue) throw new Error(`${fam.name}: buckets not cumulative`);
      last = le;
      lastValue = b.value;
    }
    if (last !== Infinity) throw new Error(`${fam.name}: no +Inf bucket`);
    const count = samples.find((s) => s.name === `${fam.name}_count`);
    if (!samples.some((s) => s.name === `${fam.name}_sum`)) throw new Error(`${fam.name}: no _sum`);
    if (!count || count.value !== lastValue) throw new Error(`${fam.name}: _count differs from the +Inf bucket`);
  }
}

/** The value of one series, or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const fam of families.values()) {
    for (const s of fam.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(labels);
      if (keys.length === Object.keys(s.labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
