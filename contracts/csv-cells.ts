// Spreadsheets evaluate a cell that starts with = + - @ (or a tab or carriage return) as a formula, and people open
// label exports in spreadsheets. Text cells that start with one of those, or with the quote that marks an escaped
// cell, are written with a leading quote; import removes exactly that quote, so export then import is exact.
const RISKY_START = /^[=+\-@\t\r']/;

export function escapeCell(text: string): string {
  return RISKY_START.test(text) ? `'${text}` : text;
}

export function unescapeCell(text: string): string {
  return text.startsWith("'") && RISKY_START.test(text.slice(1)) ? text.slice(1) : text;
}
