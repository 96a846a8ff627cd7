import { generateApiKey } from '../../src/access/api-keys.js';
import type { Stores } from '../../src/store/index.js';

/** A user on `planId` with one API key (as `npm run cli -- users:create` does). */
export async function createUserWithKey(stores: Stores, planId: string): Promise<{ userId: string; apiKey: string }> {
  const user = await stores.users.create({ email: null, planId });
  const k = generateApiKey();
  await stores.apiKeys.insert({ userId: user.id, prefix: k.prefix, salt: k.salt, keyHash: k.hash, name: 'test' });
  return { userId: user.id, apiKey: k.key };
}
