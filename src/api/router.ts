import Router from '@koa/router';

/**
 * Every router of the HTTP API. Routes match case-sensitively (@koa/router's default is not to): `/API/v1/…`
 * is a 404 rather than a second spelling of a route that whatever looks at the path (the rate limiter's
 * budgets, logs, metrics) would not recognise.
 */
export const newRouter = (prefix?: string) => new Router(prefix ? { sensitive: true, prefix } : { sensitive: true });
