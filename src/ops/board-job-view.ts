/**
 * What Bull Board shows of a job's data: ids, sizes and the envelope, never message content (a queued raw
 * message can hold a password-reset code). Fields are shown by name (an allow-list), so a field added to a
 * job later stays hidden until it is listed here; the names of hidden fields are shown, their values never.
 */
const SHOWN = new Set(['v', 'ingressId', 'source', 'receivedAt', 'envelope', 'remoteAddress', 'mailboxId']);
const RAW = new Set(['rawAscii', 'rawBase64']);
/** longer than any id, timestamp or address: such a value is not one, and is shown by its length only */
const MAX_SHOWN_CHARS = 320;

const scalar = (v: unknown): unknown => {
  if (typeof v === 'string') return v.length <= MAX_SHOWN_CHARS ? v : `[${v.length} characters]`;
  return v === null || typeof v === 'number' || typeof v === 'boolean'
    ? v
    : `[${Array.isArray(v) ? 'array' : typeof v}]`;
};

const toEnvelope = (v: unknown) => {
  if (!v || typeof v !== 'object') return scalar(v);
  const e = v as { from?: unknown; to?: unknown };
  return { from: scalar(e.from ?? null), to: Array.isArray(e.to) ? e.to.map(scalar) : scalar(e.to) };
};

/** The raw message's size in bytes and how it travels, from whichever raw field the job has. */
function toRaw(d: Record<string, unknown>) {
  if (typeof d.rawAscii === 'string') return { bytes: d.rawAscii.length, encoding: 'ascii' };
  if (typeof d.rawBase64 === 'string') return { bytes: Buffer.byteLength(d.rawBase64, 'base64'), encoding: 'base64' };
  return undefined;
}

export function toBoardJobData(data: unknown): unknown {
  if (data === undefined || data === null) return data;
  // job data of ours is always an object: anything else is described, never shown
  if (typeof data === 'string') return `[${data.length} characters]`;
  if (Array.isArray(data)) return `[array of ${data.length}]`;
  if (typeof data !== 'object') return scalar(data);
  const d = data as Record<string, unknown>;
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(d)) {
    if (SHOWN.has(key)) view[key] = key === 'envelope' ? toEnvelope(value) : scalar(value);
  }
  const raw = toRaw(d);
  if (raw) view.raw = raw;
  const hidden = Object.keys(d).filter((k) => !SHOWN.has(k) && !RAW.has(k));
  if (hidden.length) view.hiddenFields = hidden;
  return view;
}
