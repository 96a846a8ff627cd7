import Router from '@koa/router';

/**
 * The path parameters the API's routes declare (`/:address`, `/:id`, `/:jti`, `/:n`). @koa/router types
 * `ctx.params` as a `Record<string, string>`, which reads as `string | undefined` under `noUncheckedIndexedAccess`
 * although a matched route always sets every parameter its path names. A handler reads only the parameters of its
 * own path; a new parameter name goes here.
 */
export type PathParams = {
  readonly address: string;
  readonly asset: string;
  readonly id: string;
  readonly jti: string;
  readonly n: string;
  readonly recipient: string;
};

declare module 'koa' {
  // the router's context is `DefaultContext & { params: Record<string, string> }`: this names the known keys
  interface DefaultContext {
    params: PathParams;
  }
}

/**
 * Every router of the HTTP API. Routes match case-sensitively (@koa/router's default is not to): `/API/v1/…`
 * is a 404 rather than a second spelling of a route that whatever looks at the path (the rate limiter's
 * budgets, logs, metrics) would not recognise.
 */
export const newRouter = (prefix?: string) => new Router(prefix ? { sensitive: true, prefix } : { sensitive: true });
