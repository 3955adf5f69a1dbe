import { readdir } from "node:fs/promises";
import { isAbsolute, join, resolve, sep } from "node:path";

/**
 * A small glob for CI configs that pass a quoted pattern (the shell expands unquoted ones):
 * `*` and `?` within one path segment, `**` across segments, `[abc]` / `[!abc]` classes and
 * `{a,b}` alternatives. The walk skips hidden folders and node_modules and does not follow
 * symbolic links to folders.
 */

const MAGIC = /[*?[{]/;

export function hasGlobMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^$()|\\\]{}*?[]/g, "\\$&");
}

/** The regular expression of a pattern over '/'-separated relative paths (pure). */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  let braces = 0;
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i]!;
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        const atSegmentStart = i === 0 || pattern[i - 1] === "/";
        if (atSegmentStart && pattern[i + 2] === "/") {
          source += "(?:[^/]+/)*";
          i += 2;
          continue;
        }
        if (atSegmentStart && i + 2 === pattern.length) {
          source += ".*";
          i += 1;
          continue;
        }
      }
      source += "[^/]*";
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      source += `[${negated ? "^/" : ""}${body.replace(/\\/g, "\\\\").replace(/]/g, "\\]")}]`;
      i = end;
    } else if (ch === "{") {
      braces += 1;
      source += "(?:";
    } else if (ch === "}" && braces > 0) {
      braces -= 1;
      source += ")";
    } else if (ch === "," && braces > 0) {
      source += "|";
    } else {
      source += escapeRegExp(ch);
    }
  }
  return new RegExp(`^${source}${")".repeat(braces)}$`);
}

/** The folder to walk (the literal segments before the first magic one) and the rest. */
export function splitGlob(pattern: string): { base: string; rest: string } {
  const segments = pattern.split("/");
  const literal: string[] = [];
  while (segments.length > 1 && !hasGlobMagic(segments[0]!)) literal.push(segments.shift()!);
  const base = literal.length === 0 ? "." : literal.join("/") || "/";
  return { base, rest: segments.join("/") };
}

/** Files matching a pattern, as absolute paths, sorted. */
export async function expandGlob(pattern: string, cwd: string = process.cwd()): Promise<string[]> {
  const normalized = pattern.split(sep).join("/");
  const { base, rest } = splitGlob(normalized);
  const root = isAbsolute(base) ? base : resolve(cwd, base);
  const matcher = globToRegExp(rest);
  const maxDepth = rest.includes("**") ? Number.POSITIVE_INFINITY : rest.split("/").length;
  const found: string[] = [];
  const walk = async (dir: string, relative: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (depth < maxDepth && !entry.name.startsWith(".") && entry.name !== "node_modules") {
          await walk(join(dir, entry.name), path, depth + 1);
        }
      } else if (entry.isFile() && matcher.test(path)) {
        found.push(join(dir, entry.name));
      }
    }
  };
  await walk(root, "", 1);
  return found.sort();
}
