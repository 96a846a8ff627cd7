/** ISO 8601 in UTC with an explicit offset and whole seconds: 2026-11-23T10:30:00+00:00 */
export const toIso = (d: Date | string | null | undefined): string | null => {
  if (d === null || d === undefined) return null;
  const date = d instanceof Date ? d : new Date(d);
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
};
