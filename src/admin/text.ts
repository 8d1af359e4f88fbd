/**
 * Control characters, and characters that print as nothing or reorder text (zero-width, soft hyphen,
 * bidirectional controls), shown as escapes: a cell may hold text a client chose, and a terminal
 * escape could hide rows, or `"status\u200b"` pass for `"status"` before a person's eyes.
 */
// Controls (Cc), format characters (Cf: zero-width, bidirectional), the default-ignorable (Hangul fillers,
// variation selectors, tags) and line and paragraph separators.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]/gu;
export const safeText = (c: string): string =>
  c.replace(UNSAFE, (ch) => {
    const cp = ch.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
