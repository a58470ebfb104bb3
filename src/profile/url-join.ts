/**
 * Go `(*url.URL).JoinPath` for the URLs in PXE scripts (image-factory §4): the base URL's path
 * prefix is kept, elements are joined with `/` and cleaned like Go `path.Join` (duplicate
 * slashes collapsed, `.`/`..` resolved, trailing slash dropped unless the last element has one);
 * userinfo, query and fragment of the base are kept.
 */
import { posix } from 'node:path';

/** Joins path elements onto `base` and returns the resulting URL text. */
export function joinUrlPath(base: string | URL, ...elems: readonly string[]): string {
  const url = new URL(base.toString());
  const parts = [url.pathname, ...elems].filter((e) => e !== '');
  // posix.normalize = Go path.Clean, except that it keeps a trailing slash; Go drops it.
  let path = posix.normalize(`/${parts.join('/')}`);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const last = elems.length > 0 ? elems[elems.length - 1] : url.pathname;
  if (last?.endsWith('/') && !path.endsWith('/')) path += '/';
  url.pathname = path;
  return url.toString();
}
