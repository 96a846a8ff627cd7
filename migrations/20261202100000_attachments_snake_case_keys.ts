import type { Knex } from 'knex';

/**
 * `messages.attachments` (JSONB) holds each attachment's metadata under the names the data model specifies
 * and the API shows: `filename`, `content_type`, `size`, `content_id` (plus `index`, `disposition`,
 * `checksum`). Rows written before this used the parser's camelCase names (`contentType`, `contentId`);
 * they are rewritten in place, keeping the order of the list.
 */
const renameKeys = (pairs: Array<[from: string, to: string]>) => {
  const moved = pairs
    .map(
      ([from, to]) =>
        `|| case when a \\? '${from}' then jsonb_build_object('${to}', a -> '${from}') else '{}'::jsonb end`,
    )
    .join(' ');
  const removed = pairs.map(([from]) => ` - '${from}'`).join('');
  const any = pairs.map(([from]) => `jsonb_path_exists(attachments, '$[*].${from}')`).join(' or ');
  return `update messages set attachments = (
      select coalesce(jsonb_agg((a${removed}) ${moved} order by ord), '[]'::jsonb)
      from jsonb_array_elements(attachments) with ordinality as t(a, ord)
    ) where ${any}`;
};

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    renameKeys([
      ['contentType', 'content_type'],
      ['contentId', 'content_id'],
    ]),
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    renameKeys([
      ['content_type', 'contentType'],
      ['content_id', 'contentId'],
    ]),
  );
}
