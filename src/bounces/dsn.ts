/**
 * The fields of a `message/delivery-status` part (RFC 3464), read leniently (pure): folded lines, comments,
 * missing blank lines between groups, `Action: failure|error` (meaning failed), any letter case.
 */
export interface RecipientGroup {
  finalRecipient: string | null;
  originalRecipient: string | null;
  action: string | null;
  status: string | null;
  diagnosticCode: string | null;
  remoteMta: string | null;
}

export interface DeliveryStatus {
  reportingMta: string | null;
  recipients: RecipientGroup[];
}

const ACTIONS: Record<string, string> = {
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  delayed: 'delayed',
  delivered: 'delivered',
  relayed: 'relayed',
  expanded: 'expanded',
};

/** `rfc822; a@b` → `a@b` (the address type dropped, angle brackets and comments removed, lower-cased). */
export function typedAddress(value: string | undefined): string | null {
  if (!value) return null;
  const semi = value.indexOf(';');
  const address = (semi >= 0 ? value.slice(semi + 1) : value)
    .replace(/\([^)]*\)/g, '')
    .replace(/[<>]/g, '')
    .trim()
    .toLowerCase();
  return address || null;
}

const ENHANCED = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
/** The first RFC 3463 code in a text (`5.1.1`), or null. */
export const enhancedCode = (text: string | null | undefined): string | null => ENHANCED.exec(text ?? '')?.[0] ?? null;

/** A status from a Diagnostic-Code: the enhanced code, else the reply code's class (`550` → `5.0.0`). */
export function codeFromDiagnostic(diagnostic: string | null | undefined): string | null {
  const enhanced = enhancedCode(diagnostic);
  if (enhanced) return enhanced;
  const reply = /(?:^|[\s;:])([45])\d\d(?=[\s:-]|$)/.exec(diagnostic ?? '');
  return reply ? `${reply[1]}.0.0` : null;
}

/** Field lines of a block: continuation lines joined, comments kept (removed per field where they matter). */
function fieldLines(text: string): ({ name: string; value: string } | null)[] {
  const out: ({ name: string; value: string } | null)[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      out.push(null); // a group separator
      continue;
    }
    const last = out[out.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last.value = `${last.value} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return out;
}

const emptyGroup = (): RecipientGroup => ({
  finalRecipient: null,
  originalRecipient: null,
  action: null,
  status: null,
  diagnosticCode: null,
  remoteMta: null,
});

const hasRecipientField = (g: RecipientGroup) =>
  g.finalRecipient !== null || g.originalRecipient !== null || g.action !== null || g.status !== null;

export function parseDeliveryStatus(text: string): DeliveryStatus {
  let reportingMta: string | null = null;
  const recipients: RecipientGroup[] = [];
  let group = emptyGroup();
  const close = () => {
    if (hasRecipientField(group)) recipients.push(group);
    group = emptyGroup();
  };
  for (const field of fieldLines(text)) {
    if (field === null) {
      close();
      continue;
    }
    const { name, value } = field;
    // a missing blank line: a second recipient field starts the next group
    // a missing blank line: a field the group has already, or a recipient after the group's action or status,
    // starts the next group
    const described = group.action !== null || group.status !== null;
    if (
      (name === 'final-recipient' && (group.finalRecipient !== null || described)) ||
      (name === 'original-recipient' && (group.originalRecipient !== null || described)) ||
      (name === 'action' && group.action !== null)
    )
      close();
    switch (name) {
      case 'reporting-mta':
        reportingMta = typedAddress(value);
        break;
      case 'final-recipient':
        group.finalRecipient = typedAddress(value);
        break;
      case 'original-recipient':
        group.originalRecipient = typedAddress(value);
        break;
      case 'action': {
        const word =
          value
            .replace(/\([^)]*\)/g, '')
            .trim()
            .toLowerCase()
            .split(/\s/)[0] ?? '';
        group.action = ACTIONS[word] ?? (word || null);
        break;
      }
      case 'status':
        group.status = enhancedCode(value.replace(/\([^)]*\)/g, ''));
        break;
      case 'diagnostic-code': {
        const semi = value.indexOf(';');
        group.diagnosticCode = (semi >= 0 && semi < 12 ? value.slice(semi + 1) : value).trim() || null;
        break;
      }
      case 'remote-mta':
        group.remoteMta = typedAddress(value);
        break;
      default:
        break;
    }
  }
  close();
  return { reportingMta, recipients };
}
