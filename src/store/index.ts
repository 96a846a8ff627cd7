import type { Db } from './db.js';
import { apiKeyStore, type ApiKeyStore } from './api-keys.js';
import { mailboxStore, type MailboxStore } from './mailboxes.js';
import { messageStore, type MessageStore } from './messages.js';
import { planStore, type PlanStore } from './plans.js';
import { tokenStore, type TokenStore } from './tokens.js';
import { userStore, type UserStore } from './users.js';

export interface Stores {
  plans: PlanStore;
  users: UserStore;
  apiKeys: ApiKeyStore;
  mailboxes: MailboxStore;
  tokens: TokenStore;
  messages: MessageStore;
}

export function createStores(db: Db, opts: { planCacheMs?: number; plans?: PlanStore } = {}): Stores {
  return {
    plans: opts.plans ?? planStore(db, opts.planCacheMs ?? 0),
    users: userStore(db),
    apiKeys: apiKeyStore(db),
    mailboxes: mailboxStore(db),
    tokens: tokenStore(db),
    messages: messageStore(db),
  };
}
