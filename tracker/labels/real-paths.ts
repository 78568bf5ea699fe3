// Real paths (symbolic links resolved) for confining reads to a folder.
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

/**
 * The real path of `path`. A path that does not exist yet resolves through its deepest existing ancestor (a project
 * folder may be created after the project), unless `mustExist`.
 */
export async function realPathOf(path: string, options: { mustExist?: boolean } = {}): Promise<string> {
  const rest: string[] = [];
  let head = path;
  for (;;) {
    try {
      return join(await realpath(head), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = dirname(head);
      if (options.mustExist || (code !== 'ENOENT' && code !== 'ENOTDIR') || parent === head) throw error;
      rest.unshift(basename(head));
      head = parent;
    }
  }
}

export function insideFolder(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}
