import { z } from 'zod';
import { REGIONS } from '../browserbase/types.js';

// Request bodies of the session endpoints, checked as Browserbase's OpenAPI document declares them
// (unknown fields are allowed, as there), plus the real API's `userMetadata` size limit.

/** Largest `userMetadata`, in characters of its JSON (the real API's limit; the document has none). */
export const MAX_USER_METADATA_CHARS = 511;

const TIMEOUT = 'expected an integer from 60 to 21600 (seconds)';
const str = z.string({ error: 'expected a string' });
const bool = z.boolean({ error: 'expected a boolean' });
const int = z.number({ error: 'expected an integer' }).int({ error: 'expected an integer' });
const code2 = str.length(2, { error: 'expected a 2-letter code' });
/** The document's `format: uuid` (any version, as JSON-schema validators read it). */
const UUID = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

const browserbaseProxy = z.looseObject({
  type: z.literal('browserbase'),
  geolocation: z.looseObject({ city: str.optional(), state: code2.optional(), country: code2 }, { error: 'expected an object' }).optional(),
  domainPattern: str.optional(),
});
const externalProxy = z.looseObject({
  type: z.literal('external'),
  server: str,
  domainPattern: str.optional(),
  username: str.optional(),
  password: str.optional(),
});
const noneProxy = z.looseObject({ type: z.literal('none'), domainPattern: str.optional() });
const proxyConfig = z.union([browserbaseProxy, externalProxy, noneProxy], {
  error: 'expected a proxy config {type: "browserbase" | "external" (with `server`) | "none"}',
});

const browserSettings = z.looseObject(
  {
    context: z.looseObject({ id: str, persist: bool.optional() }, { error: 'expected an object with a string `id`' }).optional(),
    extensionId: str.optional(),
    viewport: z.looseObject({ width: int.optional(), height: int.optional() }, { error: 'expected an object' }).optional(),
    blockAds: bool.optional(),
    solveCaptchas: bool.optional(),
    recordSession: bool.optional(),
    logSession: bool.optional(),
    advancedStealth: bool.optional(),
    verified: bool.optional(),
    captchaImageSelector: str.optional(),
    captchaInputSelector: str.optional(),
    os: z.enum(['windows', 'mac', 'linux', 'mobile', 'tablet'], { error: 'expected one of windows, mac, linux, mobile, tablet' }).optional(),
    allowedDomains: z.array(str, { error: 'expected an array of strings' }).optional(),
    ignoreCertificateErrors: bool.optional(),
  },
  { error: 'expected an object' },
);

/** `POST /v1/sessions` (Create a Session). */
export const createBodySchema = z.looseObject(
  {
    projectId: str.optional(),
    extensionId: str.optional(),
    browserSettings: browserSettings.optional(),
    timeout: z.number({ error: TIMEOUT }).int({ error: TIMEOUT }).min(60, { error: TIMEOUT }).max(21600, { error: TIMEOUT }).optional(),
    keepAlive: bool.optional(),
    proxies: z.union([z.array(proxyConfig), z.boolean()], { error: 'expected a boolean or an array of proxy configs' }).optional(),
    proxySettings: z
      .looseObject(
        { caCertificates: z.array(str.regex(UUID, { error: 'expected a UUID' }), { error: 'expected an array of UUIDs' }).optional() },
        { error: 'expected an object' },
      )
      .optional(),
    region: z.enum(REGIONS, { error: `expected one of ${REGIONS.join(', ')}` }).optional(),
    userMetadata: z
      .record(z.string(), z.unknown(), { error: 'expected an object' })
      .refine((m) => JSON.stringify(m).length <= MAX_USER_METADATA_CHARS, { error: 'expected less than 512 characters as JSON' })
      .optional(),
  },
  { error: 'expected a JSON object' },
);
