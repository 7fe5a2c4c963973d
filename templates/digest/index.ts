// Render one guardian's digest: subject (header-safe), HTML part and text part from one model.
import { renderDigestHtml } from './html.js';
import { type DigestInput, digestView } from './model.js';
import { renderDigestText } from './text.js';

export { resolveDigestLocale } from './locale.js';
export type { DigestInput } from './model.js';

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
}

export function renderDigest(input: DigestInput): RenderedDigest {
  const view = digestView(input);
  return { subject: view.subject, html: renderDigestHtml(view), text: renderDigestText(view) };
}
