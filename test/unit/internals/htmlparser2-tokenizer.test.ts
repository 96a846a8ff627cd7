import test from 'ava';
import { Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

// docs/internals.md, row "htmlparser2 Tokenizer": src/extract/html-walk.ts drives the Tokenizer (exported
// and typed, but not in htmlparser2's README, which documents the Parser) with these callbacks, reading tag
// names, attribute values and text as [start, end) offsets into the input, entities left to the caller.
const ROW = 'internals.md row "htmlparser2 Tokenizer" (src/extract/html-walk.ts walkHtml)';

test('the Tokenizer reports tags, attributes and text by offsets, raw text for script, and no entity decoding when asked', (t) => {
  const html = '<A title="x > y" HREF=\'/a?b=1&amp;c\'>Caf&eacute;</a><script>"<a href=s>"</script><br/>';
  const seen: string[] = [];
  const slice = (s: number, e: number) => html.slice(s, e);
  const cbs: TokenizerCallbacks = {
    ontext: (s, e) => seen.push(`text ${slice(s, e)}`),
    ontextentity: (cp) => seen.push(`textentity ${cp}`),
    onopentagname: (s, e) => seen.push(`open ${slice(s, e)}`),
    onattribname: (s, e) => seen.push(`attr ${slice(s, e)}`),
    onattribdata: (s, e) => seen.push(`data ${slice(s, e)}`),
    onattribentity: (cp) => seen.push(`attribentity ${cp}`),
    onattribend: () => seen.push('attrend'),
    onopentagend: (e) => seen.push(`opentagend ${html[e]}`),
    onselfclosingtag: (e) => seen.push(`selfclosing ${html[e]}`),
    onclosetag: (s, e) => seen.push(`close ${slice(s, e)}`),
    oncomment: () => seen.push('comment'),
    oncdata: () => seen.push('cdata'),
    ondeclaration: () => seen.push('declaration'),
    onprocessinginstruction: () => seen.push('pi'),
    onend: () => seen.push('end'),
  };
  const tokenizer = new Tokenizer({ decodeEntities: false }, cbs);
  tokenizer.write(html);
  tokenizer.end();
  t.deepEqual(
    seen,
    [
      'open A',
      'attr title',
      'data x > y',
      'attrend',
      'attr HREF',
      'data /a?b=1&amp;c',
      'attrend',
      'opentagend >',
      'text Caf&eacute;',
      'close a',
      'open script',
      'opentagend >',
      'text "<a href=s>"',
      'close script',
      'open br',
      'selfclosing >',
      'end',
    ],
    ROW,
  );
});
