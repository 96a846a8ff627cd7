import { generateApiKey } from '../../src/core/api-keys.js';
import type { Stores } from '../../src/store/index.js';

/** A user on `planId` with one API key (what `npm run cli -- users:create` does). */
export async function createUserWithKey(stores: Stores, planId = 'free') {
  const user = await stores.users.create({ email: null, planId });
  const k = generateApiKey();
  const record = await stores.apiKeys.insert({
    userId: user.id,
    prefix: k.prefix,
    salt: k.salt,
    keyHash: k.hash,
    name: 'test',
  });
  return { user, userId: user.id, key: k.key, apiKey: k.key, keyId: record.id };
}
