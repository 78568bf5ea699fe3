/**
 * The line to print for a failed command. A failed workflow's own message is generic ("Workflow execution failed",
 * "Activity task failed"); the reason sits in the innermost cause of the chain, so that one is shown, with its
 * failure type (BadConfigError, ...) when it has one.
 */
export function errorMessage(error: unknown): string {
  const chain: Error[] = [];
  for (let current: unknown = error; current instanceof Error && !chain.includes(current); current = current.cause) chain.push(current);
  if (chain.length === 0) return String(error);
  const outer = chain[0]!;
  const root = chain[chain.length - 1]!;
  if (root === outer || outer.message.includes(root.message)) return outer.message;
  const type = (root as { type?: unknown }).type;
  return `${outer.message}: ${root.message}${typeof type === 'string' && type ? ` (${type})` : ''}`;
}
