/**
 * Pure helpers of the panel's set-up: which arrays can be embeddings, how
 * typed numbers are read, and the set-up summary. No DOM, no JupyterLab.
 */
import type { IAuditOptions, ISelection, IVariable } from '../tokens';

/**
 * Why a listed array cannot be the embeddings, in words for the picker.
 *
 * @param variable - A variable as the kernel listed it.
 * @returns A short reason, or null when it can be the embeddings, or when
 *   it is no array at all (functions, modules, plain numbers are not listed).
 */
export function embeddingsRefusal(variable: IVariable): string | null {
  if (variable.roles.includes('embeddings')) {
    return null;
  }
  const shape = variable.shape;
  if (!shape) {
    return null;
  }
  const dims = shape.map(s => s.toLocaleString('en-US')).join(' × ');
  if (shape.length === 0) {
    return 'a single value (0-D); embeddings are N × D';
  }
  if (shape.length === 1) {
    return `1-D (${dims}); embeddings are N × D (one row per example)`;
  }
  if (shape.length > 2) {
    return `${shape.length}-D (${dims}); embeddings are N × D: flatten each example, e.g. x.reshape(len(x), -1)`;
  }
  if (!isNumericDtype(variable.dtype)) {
    return `holds ${variable.dtype ?? 'non-numeric'} values; embeddings must be numbers`;
  }
  if (shape[0] < 2) {
    return `${dims}: embeddings need at least 2 rows`;
  }
  if (shape[1] < 1) {
    return `${dims}: embeddings need at least 1 column`;
  }
  return `${dims} ${variable.dtype ?? ''}: not readable as embeddings`.replace(
    /\s+:/,
    ':'
  );
}

/**
 * Whether a dtype, as the kernel names it, holds numbers.
 *
 * @param dtype - E.g. `float32`, `int64`, `torch.bfloat16`, `<U5`, `object`.
 * @returns True for float, int, uint and bool types.
 */
export function isNumericDtype(dtype: string | null): boolean {
  if (!dtype) {
    return false;
  }
  return /float|int|bool/i.test(dtype) || /^[<>|=]?[fiub?]\d*$/.test(dtype);
}

/** A number read from a field, or why it was refused. */
export type ParsedNumber = { value: number } | { error: string };

/**
 * Read a number typed in a field, in the user's locale or with a dot.
 *
 * A single `.` or `,` is the decimal separator ("0,02" is 0.02 in any
 * locale). It is refused as ambiguous when it could be a thousands
 * separator: followed by exactly three digits and not the locale's decimal
 * separator ("1,000" in English, "1.000" in German). Several separators,
 * spaces inside the number, or anything else are refused; nothing is
 * guessed, and nothing ever reads as another number silently.
 *
 * @param text - What the user typed.
 * @param locale - A BCP 47 locale, e.g. `navigator.language`.
 * @returns The value, or an error sentence saying what to type.
 */
export function parseNumberInput(text: string, locale: string): ParsedNumber {
  const typed = text.trim();
  if (typed === '') {
    return { error: 'Enter a value.' };
  }
  const match = /^([+-]?)(\d*)(?:([.,])(\d*))?(?:[eE]([+-]?\d+))?$/.exec(typed);
  if (!match || (match[2] === '' && !match[4])) {
    return {
      error: `'${typed}' is not a number; type digits with one decimal separator, e.g. 0.02.`
    };
  }
  const [, sign, whole, separator, fraction = '', exponent] = match;
  if (
    separator &&
    separator !== decimalSeparator(locale) &&
    /^\d{3}$/.test(fraction) &&
    whole !== '' &&
    whole !== '0' &&
    exponent === undefined
  ) {
    return {
      error: `'${typed}' is ambiguous: '${separator}' may separate thousands. Type it without thousands separators, e.g. ${whole}${fraction} or ${whole}.${fraction}.`
    };
  }
  const value = Number(
    `${sign}${whole || '0'}${separator ? `.${fraction || '0'}` : ''}${exponent !== undefined ? `e${exponent}` : ''}`
  );
  if (!Number.isFinite(value)) {
    return { error: `'${typed}' is too large.` };
  }
  return { value };
}

/**
 * The decimal separator of a locale.
 *
 * @param locale - A BCP 47 locale.
 * @returns `.` or `,` (`.` when the locale is unknown).
 */
export function decimalSeparator(locale: string): string {
  try {
    const part = new Intl.NumberFormat(locale)
      .formatToParts(1.5)
      .find(p => p.type === 'decimal');
    return part?.value === ',' ? ',' : '.';
  } catch {
    return '.';
  }
}

/**
 * The one-line set-up summary: what an audit ran on, and how.
 *
 * @param names - The variables.
 * @param options - The search options.
 * @param backend - The backend that ran, when it ran (else the preference).
 * @returns E.g. "emb · loss vs loss_a (B worse than A) · labels y · 3
 *   spotlights × 1,000 steps · size 0.02 · 8 principal components · holdout
 *   · 99 null searches · backend wasm".
 */
export function setupSummary(
  names: Readonly<ISelection>,
  options: Readonly<IAuditOptions>,
  backend: string | null = null
): string {
  const parts: string[] = [];
  parts.push(names.embeddings ?? '—');
  parts.push(
    names.referenceLosses
      ? `${names.losses ?? '—'} vs ${names.referenceLosses} (${options.direction === 'improvement' ? 'B better than A' : 'B worse than A'})`
      : (names.losses ?? '—')
  );
  for (const [role, word] of [
    ['labels', 'labels'],
    ['predictions', 'predictions'],
    ['referencePredictions', 'A predictions'],
    ['metadata', 'metadata']
  ] as const) {
    if (names[role]) {
      parts.push(`${word} ${names[role]}`);
    }
  }
  parts.push(
    `${options.count} spotlight${options.count === 1 ? '' : 's'} × ${options.steps.toLocaleString('en-US')} steps`
  );
  parts.push(`size ${options.spotlightSize}`);
  if (options.components) {
    parts.push(`${options.components} principal components`);
  }
  if (options.holdout) {
    parts.push('holdout');
  }
  if (options.permutations) {
    parts.push(`${options.permutations} null searches`);
  }
  parts.push(`backend ${backend ?? options.backend}`);
  return parts.join(' · ');
}
