/**
 * Escaping for the report files. Everything that reaches them comes from a system under test
 * (messages, trails, container logs) and may hold markup or bytes XML cannot carry.
 */

// XML 1.0 forbids these code points even as character references; a log line with an ANSI escape
// would otherwise make junit.xml unreadable to every CI parser.
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Control characters and lone surrogates as visible `\uXXXX` text. */
export function visibleControls(text: string): string {
  return text.replace(NOT_XML_CHAR, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text or attribute value, safe in XML, HTML and inline SVG alike. */
export function escapeMarkup(value: string | number): string {
  return visibleControls(String(value))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
