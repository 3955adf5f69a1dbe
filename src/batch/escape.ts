/**
 * Making text that scripts control safe for the documents we write (pure): XML for JUnit,
 * Markdown table cells for the summary. Scripts print anything: colours, control bytes,
 * half a surrogate pair, markup.
 */

// ANSI escape sequences (colours, cursor moves) mean nothing in a report: drop them whole.
const ANSI_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]/g;
// Not allowed in XML 1.0 (C0 controls but tab, LF, CR; lone surrogates; U+FFFE, U+FFFF) or
// discouraged (DEL and C1 controls).
const NOT_XML_CHAR = /[^\t\n\r\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** No ANSI codes; each control character as a visible \uXXXX; lone surrogates as U+FFFD. */
export function sanitizeText(value: string): string {
  return value.replace(ANSI_SEQUENCE, "").replace(NOT_XML_CHAR, (char) => {
    const code = char.codePointAt(0)!;
    if ((code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff) return "\ufffd";
    return `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

export function xmlText(value: string): string {
  return sanitizeText(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** For a double-quoted attribute; line breaks and tabs stay, as character references. */
export function xmlAttribute(value: string): string {
  return xmlText(value)
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;")
    .replace(/\t/g, "&#9;");
}

/**
 * One line of plain text in a Markdown table cell: no HTML, no emphasis or links, no
 * column breaks; bounded to `maxChars`.
 */
export function markdownCell(value: string, maxChars = 200): string {
  const oneLine = sanitizeText(value).replace(/\s+/g, " ").trim();
  const bounded = oneLine.length > maxChars ? `${oneLine.slice(0, maxChars - 1)}…` : oneLine;
  return bounded
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]|#~!])/g, "\\$1");
}
