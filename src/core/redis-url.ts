/**
 * The Redis Cluster form of REDIS_URL: `redis+cluster://[user[:password]@]host:port[,host:port…][/]` (or
 * `rediss+cluster://` for TLS). The host:port pairs are seed nodes: the client asks any of them for the slot map
 * and then talks to every master. A cluster has database 0 only, so a path other than `/` or `/0` is refused.
 * Pure: no I/O.
 */
export interface RedisClusterTarget {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

const SCHEME = /^(rediss?)\+cluster:\/\//i;

/** true for `redis+cluster://…` and `rediss+cluster://…` */
export const isClusterUrl = (value: string) => SCHEME.test(value);

/** The seed nodes and credentials of a cluster URL; throws an Error saying what is wrong. */
export function parseClusterUrl(value: string): RedisClusterTarget {
  const scheme = SCHEME.exec(value);
  if (!scheme) throw new Error('expected redis+cluster://host:port,host:port');
  let rest = value.slice(scheme[0].length);
  const q = rest.search(/[/?#]/);
  const tail = q < 0 ? '' : rest.slice(q);
  rest = q < 0 ? rest : rest.slice(0, q);
  const path = tail.replace(/[?#].*$/, '');
  if (path !== '' && path !== '/' && path !== '/0')
    throw new Error('a Redis Cluster has database 0 only: no database index in the URL');
  const at = rest.lastIndexOf('@');
  const auth = at < 0 ? '' : rest.slice(0, at);
  const hosts = at < 0 ? rest : rest.slice(at + 1);
  if (!hosts) throw new Error('no seed node: expected redis+cluster://host:port,host:port');
  const nodes = hosts.split(',').map((hp) => {
    let u: URL;
    try {
      u = new URL(`redis://${hp}`);
    } catch {
      throw new Error(`seed node ${JSON.stringify(hp)} is not host:port`);
    }
    if (!u.hostname || u.pathname.length > 1 || u.username)
      throw new Error(`seed node ${JSON.stringify(hp)} is not host:port`);
    return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : 6379 };
  });
  const colon = auth.indexOf(':');
  const user = colon < 0 ? auth : auth.slice(0, colon);
  const password = colon < 0 ? undefined : auth.slice(colon + 1);
  return {
    nodes,
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    tls: scheme[1]!.toLowerCase() === 'rediss',
  };
}
