/** The jti claim of a mailbox token (tests revoke tokens by jti through the token store). */
export const jtiOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti;
