/** The most characters of a server's own text an error message quotes. */
export const SERVER_TEXT_MAX_CHARS = 200;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/**
 * A remote server's text made fit for an error message: every occurrence of the password replaced by `***` (a
 * hostile server may echo it), control characters turned into one space, at most SERVER_TEXT_MAX_CHARS
 * characters (the password is replaced before cutting, so no prefix of it survives the cut).
 */
export function serverText(text: string, password: string): string {
  const hidden = password ? text.split(password).join('***') : text;
  const clean = hidden.replace(CONTROL, ' ').trim();
  return clean.length > SERVER_TEXT_MAX_CHARS ? `${clean.slice(0, SERVER_TEXT_MAX_CHARS - 1)}…` : clean;
}
