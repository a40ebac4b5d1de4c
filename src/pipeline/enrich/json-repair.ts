// Finds the JSON value in what a model wrote and makes it parseable: code fences, prose around it,
// reasoning blocks, single quotes, Python literals, bare keys, trailing commas, and truncation
// (max_tokens hit mid-answer) are all tolerated. Returns undefined when there is no JSON to be had.

/** Outside strings, the text between these is not the answer (Qwen3 / DeepSeek-R1 style reasoning). */
function stripReasoning(text: string): string {
  const closed = text.replace(/<think>[\s\S]*?<\/think>/gi, '');
  // an unclosed <think> means the answer never came
  return closed.replace(/<think>[\s\S]*$/i, '');
}

/** The body of the first ``` fence if there is one (closed or cut off), else the text. */
function stripFence(text: string): string {
  const open = /```[\w-]*[^\S\n]*\n?/.exec(text);
  if (!open) return text;
  const rest = text.slice(open.index + open[0].length);
  const close = rest.indexOf('```');
  const body = close === -1 ? rest : rest.slice(0, close);
  // a fence with no JSON in it (prose in a fence, JSON after it) is not the answer
  return /[{[]/.test(body) ? body : text;
}

interface SafePoint {
  /** length of `out` at this point */
  at: number;
  /** closers needed, innermost last */
  stack: string[];
}

/**
 * Rewrites the first JSON-ish value in `text` into strict JSON, stopping when it closes.
 * If the text ends first, cuts back to the last point where every open bracket could be closed.
 */
function normalizeValue(text: string, start: number): string | undefined {
  let out = '';
  const stack: string[] = [];
  let safe: SafePoint | undefined;
  let i = start;

  const dropTrailingComma = () => {
    out = out.replace(/,\s*$/, '');
  };

  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      // a string, single-quoted ones rewritten with double quotes
      const quote = c;
      let s = '"';
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        const d = text[j];
        if (d === '\\' && j + 1 < text.length) {
          const e = text[j + 1];
          s += quote === "'" && e === "'" ? "'" : d + e;
          j += 2;
          continue;
        }
        if (d === quote) {
          closed = true;
          break;
        }
        if (d === '"') s += '\\"';
        else if (d === '\n') s += '\\n';
        else if (d === '\r') s += '\\r';
        else if (d === '\t') s += '\\t';
        else s += d;
        j++;
      }
      if (!closed) break; // truncated inside a string
      out += s + '"';
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push(c === '{' ? '}' : ']');
      out += c;
      safe = { at: out.length, stack: [...stack] };
      i++;
      continue;
    }
    if (c === '}' || c === ']') {
      if (stack.length === 0 || stack[stack.length - 1] !== c) return undefined; // mismatched
      dropTrailingComma();
      stack.pop();
      out += c;
      i++;
      if (stack.length === 0) return out;
      safe = { at: out.length, stack: [...stack] };
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][\w-]*/.exec(text.slice(i))![0];
      const literal: Record<string, string> = {
        true: 'true',
        false: 'false',
        null: 'null',
        True: 'true',
        False: 'false',
        None: 'null',
      };
      const after = text.slice(i + word.length);
      if (/^\s*:/.test(after))
        out += JSON.stringify(word); // bare key
      else if (literal[word]) out += literal[word];
      else return undefined; // prose inside the value: not JSON
      i += word.length;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      // a // comment to the end of the line
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl;
      continue;
    }
    out += c;
    i++;
  }

  // ran out of text with brackets open: the answer was cut off
  if (!safe) return undefined;
  out = out.slice(0, safe.at);
  dropTrailingComma();
  return out + [...safe.stack].reverse().join('');
}

/** The parsed JSON value in a model's answer, or undefined. */
export function extractJson(raw: string): unknown {
  const text = stripFence(stripReasoning(raw));
  // try each opening bracket in turn: prose before the JSON may contain stray brackets
  for (let start = text.search(/[{[]/); start !== -1; ) {
    const candidate = normalizeValue(text, start);
    if (candidate !== undefined) {
      try {
        return JSON.parse(candidate);
      } catch {
        // fall through to the next bracket
      }
    }
    const next = text.slice(start + 1).search(/[{[]/);
    start = next === -1 ? -1 : start + 1 + next;
  }
  return undefined;
}
