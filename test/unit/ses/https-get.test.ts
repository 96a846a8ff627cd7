import test from 'ava';
import { httpsGet } from '../../../src/ingress/ses/https-get.js';

test('the production fetcher refuses anything but https before touching the network', async (t) => {
  const get = httpsGet({ timeoutMs: 1000, maxBytes: 1024 });
  for (const url of [
    'http://sns.us-east-1.amazonaws.com/x.pem',
    'file:///etc/passwd',
    'ftp://sns.us-east-1.amazonaws.com/x.pem',
  ]) {
    await t.throwsAsync(get(new URL(url)), { message: 'refusing a non-https fetch' }, url);
  }
});
