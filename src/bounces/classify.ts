import { codeFromDiagnostic, type RecipientGroup } from './dsn.js';
import { headerValue } from './mime.js';
import type { ParsedBounce } from './parse-bounce.js';

/** What a bounce means for its outbound message (issue 21, RFC 3464 and RFC 3463). */
export type BounceClass = 'hard' | 'soft' | 'delayed' | 'complaint' | 'none';

export interface Classification {
  class: BounceClass;
  /** failed | delayed | delivered | relayed | expanded | complaint | auto_reply | null (unknown) */
  action: string | null;
  /** the RFC 3463 code, e.g. 5.1.1 */
  status: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
}

const MAX_DIAGNOSTIC = 1000;
const clip = (s: string | null | undefined) => (s ? s.replace(/\s+/g, ' ').trim().slice(0, MAX_DIAGNOSTIC) : null);

const DELAY =
  /\bdelayed\b|not (yet )?been delivered|will continue to (attempt|try)|warning message only|delivery (is )?delayed/i;
const FULL =
  /mailbox (is )?full|over ?quota|quota exceeded|exceeded (the )?(storage|quota)|insufficient (system )?storage|mailbox size limit/i;
const FAILURE =
  /could ?n[o']t be delivered|undeliverable|undelivered|delivery (has )?failed|failure notice|permanent(ly)? (error|fatal|failure)|does not exist|user unknown|unknown user|no such (user|recipient|mailbox)|mailbox unavailable|returned mail|delivery status notification \(failure\)|message not delivered|address rejected|recipient rejected|not deliverable/i;
const AUTO_REPLY_SUBJECT = /^(auto(matic)?[ -]?reply|out of (the )?office|vacation|away from)/i;

/** 5.2.2 (and 4.2.2): mailbox full, a soft bounce even when permanent. */
const mailboxFull = (status: string | null) => status !== null && /^[45]\.2\.2$/.test(status);

/** Severity of a code alone: hard for 5.x.x (except X.2.2), soft for 4.x.x or X.2.2. */
const severity = (status: string | null): 'hard' | 'soft' =>
  status !== null && status.startsWith('5') && !mailboxFull(status) ? 'hard' : 'soft';

/** One per-recipient group of an RFC 3464 report. */
function classifyGroup(g: RecipientGroup): Classification {
  const status = g.status ?? codeFromDiagnostic(g.diagnosticCode);
  const action = g.action ?? (status?.startsWith('5') || status?.startsWith('4') ? 'failed' : null);
  const base = { action, status, diagnostic: clip(g.diagnosticCode), remoteMta: g.remoteMta };
  if (action === 'failed') {
    if (status === null) return { ...base, class: 'hard' };
    return { ...base, class: severity(status) };
  }
  if (action === 'delayed') return { ...base, class: 'delayed' };
  return { ...base, class: 'none' };
}

const RANK: Record<BounceClass, number> = { hard: 4, soft: 3, delayed: 2, complaint: 1, none: 0 };

/** The group for `recipient` (its Original- or Final-Recipient), else the most severe. */
function pickGroup(groups: RecipientGroup[], recipient: string | undefined): Classification | null {
  const r = recipient?.toLowerCase();
  const own = r ? groups.find((g) => g.originalRecipient === r || g.finalRecipient === r) : undefined;
  if (own) return classifyGroup(own);
  let best: Classification | null = null;
  for (const g of groups) {
    const c = classifyGroup(g);
    if (!best || RANK[c.class] > RANK[best.class]) best = c;
  }
  return best;
}

/** The line of a plain-text bounce that carries a code, else the text after the failed address. */
function plainDiagnostic(text: string, recipient: string | undefined): string | null {
  const lines = text.split(/\r?\n/);
  const withCode = lines.find((l) => codeFromDiagnostic(l) !== null);
  if (withCode) return clip(withCode);
  if (recipient) {
    const at = text.toLowerCase().indexOf(recipient.toLowerCase());
    if (at >= 0) return clip(text.slice(at + recipient.length).replace(/^[>:\s]+/, ''));
  }
  return null;
}

function isAutoReply(b: ParsedBounce): boolean {
  const auto = (headerValue(b.headers, 'auto-submitted') ?? '').toLowerCase();
  return (
    auto.startsWith('auto-replied') ||
    headerValue(b.headers, 'x-autoreply') !== undefined ||
    headerValue(b.headers, 'x-autorespond') !== undefined ||
    /auto_reply/i.test(headerValue(b.headers, 'precedence') ?? '') ||
    AUTO_REPLY_SUBJECT.test(b.subject)
  );
}

/** A bounce without a delivery-status part (qmail, Yahoo, old Exchange text), or an auto-reply. */
function classifyPlain(b: ParsedBounce, recipient: string | undefined): Classification {
  const all = `${b.subject}\n${b.text}`;
  // one code per line: its enhanced code, else its reply code's class (`552 …` → 5.0.0)
  const found = `${b.subject}\n${b.text}`
    .split(/\r?\n/)
    .map((line) => codeFromDiagnostic(line))
    .filter((c): c is string => c !== null);
  const failed = headerValue(b.headers, 'x-failed-recipients') !== undefined || FAILURE.test(all);
  const delay = DELAY.test(all);
  if (!failed && !delay && found.length === 0 && isAutoReply(b))
    return { class: 'none', action: 'auto_reply', status: null, diagnostic: null, remoteMta: null };
  const diagnostic = plainDiagnostic(b.text, recipient);
  const hard = found.filter((c) => c.startsWith('5') && !mailboxFull(c));
  const status = hard[0] ?? found[0] ?? null;
  if (delay && hard.length === 0) return { class: 'delayed', action: 'delayed', status, diagnostic, remoteMta: null };
  const soft = (hard.length === 0 && found.length > 0) || FULL.test(all);
  return { class: soft ? 'soft' : 'hard', action: 'failed', status, diagnostic, remoteMta: null };
}

/**
 * What a bounce (already matched to outbound message `recipient` by its VERP address) means: ARF complaint,
 * RFC 3464 report (the recipient's group, else the most severe), else plain text wording and codes.
 */
export function classifyBounce(b: ParsedBounce, recipient?: string): Classification {
  if (b.reportType === 'feedback-report' || b.feedback) {
    const type = b.feedback?.['feedback-type'] ?? 'abuse';
    return { class: 'complaint', action: 'complaint', status: null, diagnostic: clip(type), remoteMta: null };
  }
  if (b.deliveryStatus && b.deliveryStatus.recipients.length > 0) {
    const picked = pickGroup(b.deliveryStatus.recipients, recipient);
    if (picked) return { ...picked, remoteMta: picked.remoteMta ?? b.deliveryStatus.reportingMta };
  }
  return classifyPlain(b, recipient);
}
