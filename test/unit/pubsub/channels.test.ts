import test from 'ava';
import { ConfigError, loadConfig } from '../../../src/core/config.js';
import { accessChannel, channelNamespace, mailboxChannel } from '../../../src/pubsub/events.js';

const namespaceOf = (env: Record<string, string>) => channelNamespace(loadConfig(env).redis);

test('channel names carry QUEUE_PREFIX, and the Redis database index when it is not 0', (t) => {
  t.is(namespaceOf({}), 'mw');
  t.is(namespaceOf({ REDIS_URL: 'redis://127.0.0.1:6379/0' }), 'mw');
  t.is(namespaceOf({ REDIS_URL: 'redis://127.0.0.1:6379/3' }), 'mw:db3');
  t.is(namespaceOf({ REDIS_URL: 'redis://127.0.0.1:6379?db=4', QUEUE_PREFIX: 'staging' }), 'staging:db4');
  t.is(namespaceOf({ REDIS_URL: 'rediss://user:pw@redis.example:6380/2', QUEUE_PREFIX: 'prod' }), 'prod:db2');
  t.is(mailboxChannel(namespaceOf({ REDIS_URL: 'redis://h/5' }), 'abc'), 'mw:db5:mailbox:abc');
  t.is(accessChannel(namespaceOf({ REDIS_URL: 'redis://h/5' })), 'mw:db5:access');
});

test('no two deployments share a channel: a prefix cannot contain ":", so "mw" on db 1 is not any prefix on db 0', (t) => {
  const error = t.throws(() => loadConfig({ QUEUE_PREFIX: 'mw:db1' }), { instanceOf: ConfigError });
  t.regex(error.message, /QUEUE_PREFIX/);
});

test('a Redis database index that is not a whole number fails start-up, naming REDIS_URL without its password', (t) => {
  for (const url of ['redis://:secret@127.0.0.1:6379/abc', 'redis://:secret@127.0.0.1:6379?db=x']) {
    const error = t.throws(() => loadConfig({ REDIS_URL: url }), { instanceOf: ConfigError });
    t.regex(error.message, /REDIS_URL: the database index/);
    t.notRegex(error.message, /secret/);
  }
});
