/**
 * Reading NumPy .npy arrays for the command line, through the maintained
 * `npyjs` parser (header, typed view, float16 decoding), plus what it leaves
 * to the caller: byte-swapping big-endian files, Fortran-order
 * transposition, exact conversion to float32 (int64/uint64 included), dtype
 * refusals worded for the user, size checks. Node-free: takes the file's bytes.
 */
import { float16ToFloat32, parse } from 'npyjs';

/** A problem with an .npy file, worded for the user. */
export class NpyError extends Error {
  /**
   * @param message - What is wrong and what to do.
   */
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

/**
 * The stored dtypes that are read (without the byte-order mark): floats of 2,
 * 4 and 8 bytes, signed and unsigned integers of 1 to 8 bytes, and bool.
 */
export type NpyDtype =
  | 'f2'
  | 'f4'
  | 'f8'
  | 'i1'
  | 'i2'
  | 'i4'
  | 'i8'
  | 'u1'
  | 'u2'
  | 'u4'
  | 'u8'
  | 'b1';

/** A float32 array in C (row-major) order with its shape. */
export interface INpyArray {
  /** Row-major values. */
  data: Float32Array;
  /** The shape, e.g. [N, D]. */
  shape: number[];
  /** The stored dtype, without byte order (e.g. `f4`, `f2`, `i8`). */
  dtype: NpyDtype;
  /** Whether the file was big-endian (its bytes were swapped). */
  bigEndian: boolean;
  /** Whether the file was in Fortran (column-major) order. */
  fortranOrder: boolean;
}

/**
 * Parse an .npy file as NumPy writes it (`np.save`) and convert its values to
 * float32 exactly as `arr.astype(np.float32)` does (round to nearest, ties to
 * even), in row-major order.
 *
 * Read: float16, float32, float64; int8, int16, int32, int64; uint8, uint16,
 * uint32, uint64 (int64/uint64 beyond 2^24 correctly rounded, like NumPy);
 * bool (as 0/1); little- or big-endian; C or Fortran order; format versions
 * 1–3. float16 is decoded exactly (subnormals, ±0, ±inf; NaN stays NaN, its
 * payload is not kept).
 *
 * Refused, with a message naming `label`, the dtype and the fix: object
 * (pickled) arrays, structured/record, complex, string/bytes, datetime and
 * timedelta dtypes, extended-precision floats. float64 values beyond the
 * float32 range are refused too (where `astype` would give ±inf), since the
 * search rejects non-finite input anyway: the message asks to rescale.
 *
 * @param bytes - The file's contents.
 * @param label - What the file is, for messages (e.g. "--embeddings E.npy").
 * @returns The values as float32 in row-major order, with the shape.
 * @throws NpyError naming the problem (not .npy, dtype, truncated, float32 overflow).
 */
export function readNpy(bytes: Uint8Array, label: string): INpyArray {
  // A private copy: Node's Buffers may share a pooled ArrayBuffer, and
  // big-endian data is swapped in place.
  const copy = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength
  );
  const header = Private.header(new Uint8Array(copy), label);
  const { order, dtype, width } = Private.classify(header.descr, label);
  const payload = copy.byteLength - header.dataOffset;
  if (payload < 0 || payload % width !== 0) {
    throw new NpyError(
      `${label} is truncated or damaged: its data is ${Math.max(0, payload)} bytes, not a whole number of ${width}-byte values.`
    );
  }
  const buffer = Private.realign(copy, width);
  const bigEndian = order === '>' && width > 1;
  if (order === '>' || order === '=') {
    // npyjs reads only little-endian ('<', '|'): swap the values and say so
    // in the header ('=' is the writer's native order, taken as little).
    if (bigEndian) {
      Private.swap(buffer, Private.dataOffset(new Uint8Array(buffer)), width);
    }
    new Uint8Array(buffer)[header.descrAt] = 0x3c; // '<'
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(buffer);
  } catch (error) {
    throw new NpyError(
      `${label} is not a readable .npy file (${Private.message(error)}).`
    );
  }
  const shape = parsed.shape;
  if (shape.some(s => !Number.isInteger(s) || s < 0)) {
    throw new NpyError(`${label} has an invalid shape (${shape.join(', ')}).`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const raw = parsed.data as Private.Raw;
  if (raw.length < size) {
    throw new NpyError(
      `${label} is truncated: its header announces ${size} values of shape (${shape.join(', ')}) but the file holds ${raw.length}.`
    );
  }
  let data = Private.toFloat32(raw, size, label);
  if (parsed.fortranOrder && shape.length >= 2) {
    data = Private.toRowMajor(data, shape);
  }
  return {
    data,
    shape: [...shape],
    dtype,
    bigEndian,
    fortranOrder: parsed.fortranOrder
  };
}

/**
 * The header of an .npy file, parsed without its data (for reading a large
 * file in blocks: npyFile.ts).
 */
export interface INpyHeader {
  /** The stored dtype, without byte order. */
  dtype: NpyDtype;
  /** Bytes per value. */
  width: number;
  /** Whether the values are big-endian. */
  bigEndian: boolean;
  /** Whether the array is in Fortran (column-major) order. */
  fortranOrder: boolean;
  /** The shape. */
  shape: number[];
  /** Byte offset of the first value. */
  dataOffset: number;
  /** Bytes of data the shape announces: width · Π shape. */
  dataBytes: number;
}

/**
 * Parse the header of an .npy file from its first bytes (at least up to the
 * end of the header: 10 + HEADER_LEN bytes for format 1, 12 + HEADER_LEN for
 * 2 and 3; `npyHeaderLength` says how many from the first 12).
 *
 * @param bytes - The file's first bytes.
 * @param label - What the file is, for messages.
 * @returns The dtype, order, shape and where the data starts.
 * @throws NpyError for a non-.npy file, a dtype that is not read (as
 *   `readNpy`), or a header without a valid shape.
 */
export function parseNpyHeader(bytes: Uint8Array, label: string): INpyHeader {
  const header = Private.header(bytes, label);
  const { order, dtype, width } = Private.classify(header.descr, label);
  const start = bytes[6] <= 1 ? 10 : 12;
  if (bytes.length < header.dataOffset) {
    throw new NpyError(`${label} is truncated inside its .npy header.`);
  }
  const text = new TextDecoder('latin1').decode(
    bytes.subarray(start, header.dataOffset)
  );
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  const fortranMatch = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = shapeMatch
    ? shapeMatch[1]
        .split(',')
        .map(s => s.trim())
        .filter(s => s !== '')
        .map(s => Number(s.replace(/L$/, '')))
    : [];
  if (
    !shapeMatch ||
    !fortranMatch ||
    shape.some(s => !Number.isInteger(s) || s < 0)
  ) {
    throw new NpyError(
      `${label} has an invalid .npy header (shape or order unreadable): save it again with np.save.`
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    dtype,
    width,
    bigEndian: order === '>' && width > 1,
    fortranOrder: fortranMatch[1] === 'True',
    shape,
    dataOffset: header.dataOffset,
    dataBytes: count * width
  };
}

/**
 * The length of an .npy header from the file's first 12 bytes.
 *
 * @param bytes - At least the first 12 bytes (10 for format 1).
 * @param label - For messages.
 * @returns The byte offset of the data (the header's end).
 * @throws NpyError when the magic is missing.
 */
export function npyHeaderLength(bytes: Uint8Array, label: string): number {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(
      `${label} is not an .npy file (no \\x93NUMPY magic): save it with np.save.`
    );
  }
  if (bytes[6] > 1 && bytes.length < 12) {
    throw new NpyError(`${label} is truncated inside its .npy header.`);
  }
  return Private.dataOffset(bytes);
}

/**
 * Convert stored values to float32 exactly as `readNpy` does (and NumPy's
 * `astype(np.float32)`): float16 decoded exactly, float64 rounded to
 * nearest-even (values beyond the float32 range refused), 64-bit integers
 * rounded once, bool as 0/1.
 *
 * @param bytes - Whole values as stored in the file (any alignment; not changed).
 * @param header - The file's header.
 * @param label - For messages.
 * @param firstIndex - The flat index (in file order) of the first value, for messages.
 * @returns bytes.length / width float32 values.
 * @throws NpyError for a float64 value beyond the float32 range.
 */
export function decodeNpyValues(
  bytes: Uint8Array,
  header: INpyHeader,
  label: string,
  firstIndex: number
): Float32Array {
  const { width, dtype } = header;
  const count = Math.floor(bytes.length / width);
  // An aligned private copy (swapped in place when big-endian).
  const buffer = new ArrayBuffer(count * width);
  new Uint8Array(buffer).set(bytes.subarray(0, count * width));
  if (header.bigEndian) {
    Private.swap(buffer, 0, width);
  }
  let raw: Private.Raw;
  switch (dtype) {
    case 'f2': {
      const h = new Uint16Array(buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        out[i] = float16ToFloat32(h[i]);
      }
      return out;
    }
    case 'f4':
      raw = new Float32Array(buffer);
      break;
    case 'f8':
      raw = new Float64Array(buffer);
      break;
    case 'i1':
      raw = new Int8Array(buffer);
      break;
    case 'i2':
      raw = new Int16Array(buffer);
      break;
    case 'i4':
      raw = new Int32Array(buffer);
      break;
    case 'i8':
      raw = new BigInt64Array(buffer);
      break;
    case 'u1':
      raw = new Uint8Array(buffer);
      break;
    case 'u2':
      raw = new Uint16Array(buffer);
      break;
    case 'u4':
      raw = new Uint32Array(buffer);
      break;
    case 'u8':
      raw = new BigUint64Array(buffer);
      break;
    case 'b1': {
      const b = new Uint8Array(buffer);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        out[i] = b[i] ? 1 : 0;
      }
      return out;
    }
  }
  try {
    return Private.toFloat32(raw, count, label);
  } catch (error) {
    if (error instanceof NpyError && firstIndex > 0) {
      throw new NpyError(
        error.message.replace(
          /flat index (\d+)/,
          (_, i) => `flat index ${firstIndex + Number(i)}`
        )
      );
    }
    throw error;
  }
}

/** Helpers. */
namespace Private {
  /** What npyjs returns for the dtypes that are read. */
  export type Raw =
    | Float32Array
    | Float64Array
    | Int8Array
    | Int16Array
    | Int32Array
    | Uint8Array
    | Uint16Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array
    | boolean[];

  /** Item sizes of the dtypes that are read. */
  const WIDTHS: { [code in NpyDtype]: number } = {
    f2: 2,
    f4: 4,
    f8: 8,
    i1: 1,
    i2: 2,
    i4: 4,
    i8: 8,
    u1: 1,
    u2: 2,
    u4: 4,
    u8: 8,
    b1: 1
  };

  /** How to save an array so that it is read. */
  const SAVE = 'np.save(path, np.asarray(x, dtype=np.float32))';

  /** The parts of an .npy header that matter here. */
  export interface IHeader {
    /** The descr string, e.g. `<f4`. */
    descr: string;
    /** Byte offset in the file of the descr's first character. */
    descrAt: number;
    /** Byte offset of the first value. */
    dataOffset: number;
  }

  /**
   * Read the header of an .npy file (npyjs drops the byte-order mark and
   * does not recognise object or structured dtypes).
   *
   * @param bytes - The file.
   * @param label - For messages.
   * @returns The descr, where it is, and where the data starts.
   * @throws NpyError for a non-.npy file or a structured/missing dtype.
   */
  export function header(bytes: Uint8Array, label: string): IHeader {
    const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
    if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
      throw new NpyError(
        `${label} is not an .npy file (no \\x93NUMPY magic): save it with np.save.`
      );
    }
    const start = bytes[6] <= 1 ? 10 : 12;
    const offset = dataOffset(bytes);
    const text = new TextDecoder('latin1').decode(
      bytes.subarray(start, offset)
    );
    const match = /'descr'\s*:\s*'([^']+)'/.exec(text);
    if (!match) {
      if (/'descr'\s*:\s*\[/.test(text)) {
        throw new NpyError(
          `${label} holds a structured (record) array, dtype ${structured(text)}: save one plain numeric field or a stacked float array, e.g. np.save(path, np.asarray(x['field'], dtype=np.float32)).`
        );
      }
      throw new NpyError(
        `${label} has no dtype in its header: save a plain numeric array with ${SAVE}.`
      );
    }
    const descrAt = start + match.index + match[0].length - match[1].length - 1;
    return { descr: match[1], descrAt, dataOffset: offset };
  }

  /**
   * The structured dtype as written in a header, shortened for a message.
   *
   * @param text - The header.
   * @returns E.g. `[('a', '<f4'), ('b', '<i8')]`.
   */
  export function structured(text: string): string {
    const match = /'descr'\s*:\s*(\[.*?\])\s*,\s*'/.exec(text);
    const descr = match ? match[1] : '[...]';
    return descr.length > 80 ? `${descr.slice(0, 77)}...` : descr;
  }

  /**
   * Check that a descr is one that is read.
   *
   * @param descr - E.g. `<f4`, `>i8`, `|b1`, `|O`.
   * @param label - For messages.
   * @returns The byte order mark, the dtype code and its item size.
   * @throws NpyError naming the dtype and how to save the array instead.
   */
  export function classify(
    descr: string,
    label: string
  ): { order: string; dtype: NpyDtype; width: number } {
    const match = /^([<>|=]?)([a-zA-Z])(\d*)(.*)$/.exec(descr);
    const order = match ? match[1] : '';
    const kind = match ? match[2] : '';
    const code = match ? `${kind}${match[3]}` : '';
    if (match && match[4] === '' && code in WIDTHS) {
      const dtype = code as NpyDtype;
      return { order, dtype, width: WIDTHS[dtype] };
    }
    const is = `${label} has dtype '${descr}'`;
    switch (kind) {
      case 'O':
        throw new NpyError(
          `${is} (Python objects, pickled), which is not read: convert it to a numeric array and save that, e.g. ${SAVE}.`
        );
      case 'c':
        throw new NpyError(
          `${is} (complex), which is not read: save real values, e.g. np.save(path, np.abs(x).astype(np.float32)) or x.real.`
        );
      case 'U':
      case 'S':
      case 'a':
        throw new NpyError(
          `${is} (strings), which is not read: convert the values to numbers and save them with ${SAVE}.`
        );
      case 'V':
        throw new NpyError(
          `${is} (raw or structured records), which is not read: save a plain numeric array with ${SAVE}.`
        );
      case 'M':
      case 'm':
        throw new NpyError(
          `${is} (datetime or timedelta), which is not read: convert to numbers (e.g. x.astype('int64')) and save them with ${SAVE}.`
        );
      case 'f':
        throw new NpyError(
          `${is} (extended-precision float), which is not read: save it as float32 or float64 with ${SAVE}.`
        );
      default:
        throw new NpyError(
          `${is}, which is not read (float16/32/64, int8–int64, uint8–uint64 and bool are): save it with ${SAVE}.`
        );
    }
  }

  /**
   * Where the data of an .npy file starts.
   *
   * @param bytes - The file (magic already checked).
   * @returns The byte offset of the first value.
   */
  export function dataOffset(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const major = bytes[6];
    return major <= 1
      ? 10 + view.getUint16(8, true)
      : 12 + view.getUint32(8, true);
  }

  /**
   * Reverse the bytes of each value, in place (big- to little-endian).
   *
   * @param buffer - The file.
   * @param offset - Where the data starts (a multiple of `width`).
   * @param width - Item size in bytes (2, 4 or 8).
   */
  export function swap(
    buffer: ArrayBuffer,
    offset: number,
    width: number
  ): void {
    const bytes = new Uint8Array(buffer, offset);
    for (let i = 0; i + width <= bytes.length; i += width) {
      for (let a = i, b = i + width - 1; a < b; a++, b--) {
        const t = bytes[a];
        bytes[a] = bytes[b];
        bytes[b] = t;
      }
    }
  }

  /**
   * The first `size` values as float32, rounded as NumPy's
   * `astype(np.float32)` rounds (to nearest, ties to even).
   *
   * @param raw - The typed values from npyjs (float16 already decoded).
   * @param size - How many values the shape holds.
   * @param label - For messages.
   * @returns A new Float32Array of length `size`.
   * @throws NpyError for a float64 value beyond the float32 range.
   */
  export function toFloat32(
    raw: Raw,
    size: number,
    label: string
  ): Float32Array {
    const data = new Float32Array(size);
    if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
      for (let i = 0; i < size; i++) {
        data[i] = bigToFloat32(raw[i]);
      }
    } else if (Array.isArray(raw)) {
      for (let i = 0; i < size; i++) {
        data[i] = raw[i] ? 1 : 0;
      }
    } else if (raw instanceof Float64Array) {
      for (let i = 0; i < size; i++) {
        const x = raw[i];
        const y = Math.fround(x);
        if (Number.isFinite(x) && !Number.isFinite(y)) {
          throw new NpyError(
            `${label} holds ${x} at flat index ${i}, beyond the float32 range the search computes in: rescale the array.`
          );
        }
        data[i] = y;
      }
    } else {
      // Every value of these types is exact in a double; the Float32Array
      // store rounds it to nearest-even.
      data.set(raw.length === size ? raw : raw.subarray(0, size));
    }
    return data;
  }

  /**
   * A 64-bit integer rounded to the nearest float32 (ties to even), exactly:
   * `Math.fround(Number(x))` would round twice and can miss by one unit.
   * Beyond 2^53 the value is first cut to 53 significant bits with the lost
   * bits folded into the last one (round to odd), which a double holds
   * exactly and which then rounds to float32 as the exact value would.
   *
   * @param x - An int64 or uint64 value.
   * @returns The float32 value, as a number.
   */
  export function bigToFloat32(x: bigint): number {
    if (x >= MINUS_SAFE && x <= SAFE) {
      return Math.fround(Number(x));
    }
    const negative = x < BigInt(0);
    const a = negative ? -x : x;
    const shift = BigInt(a.toString(2).length - 53);
    let high = a >> shift;
    if (high << shift !== a) {
      high |= BigInt(1);
    }
    const y = Number(high) * 2 ** Number(shift);
    return Math.fround(negative ? -y : y);
  }

  /** 2^53: integers up to this size are exact in a double. */
  const SAFE = BigInt(2) ** BigInt(53);
  /** -2^53. */
  const MINUS_SAFE = -SAFE;

  /**
   * Copy an .npy file so that its data starts at a multiple of the item size
   * (numpy pads headers to 64 bytes, but other writers may not): the header is
   * padded with spaces and its length field updated.
   *
   * @param buffer - The file.
   * @param width - Item size in bytes.
   * @returns The realigned file.
   */
  export function realign(buffer: ArrayBuffer, width: number): ArrayBuffer {
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    const major = bytes[6];
    const start = major <= 1 ? 10 : 12;
    const headerLength =
      major <= 1 ? view.getUint16(8, true) : view.getUint32(8, true);
    const offset = start + headerLength;
    const pad = (width - (offset % width)) % width;
    if (pad === 0) {
      return buffer;
    }
    const out = new Uint8Array(bytes.length + pad);
    out.set(bytes.subarray(0, offset));
    out.fill(0x20, offset, offset + pad);
    out.set(bytes.subarray(offset), offset + pad);
    const outView = new DataView(out.buffer);
    if (major <= 1) {
      outView.setUint16(8, headerLength + pad, true);
    } else {
      outView.setUint32(8, headerLength + pad, true);
    }
    return out.buffer;
  }

  /**
   * Convert a Fortran-order (column-major) array to C order.
   *
   * @param data - Column-major values.
   * @param shape - The shape.
   * @returns Row-major values.
   */
  export function toRowMajor(
    data: Float32Array,
    shape: number[]
  ): Float32Array {
    const rank = shape.length;
    const out = new Float32Array(data.length);
    if (rank === 2) {
      const [rows, cols] = shape;
      for (let j = 0; j < cols; j++) {
        const o = j * rows;
        for (let i = 0; i < rows; i++) {
          out[i * cols + j] = data[o + i];
        }
      }
      return out;
    }
    // General rank: Fortran strides are the reverse of C strides.
    const cStrides = new Array<number>(rank);
    const fStrides = new Array<number>(rank);
    let c = 1;
    let f = 1;
    for (let r = rank - 1; r >= 0; r--) {
      cStrides[r] = c;
      c *= shape[r];
    }
    for (let r = 0; r < rank; r++) {
      fStrides[r] = f;
      f *= shape[r];
    }
    for (let k = 0; k < data.length; k++) {
      let rest = k;
      let src = 0;
      for (let r = 0; r < rank; r++) {
        const idx = Math.floor(rest / cStrides[r]);
        rest -= idx * cStrides[r];
        src += idx * fStrides[r];
      }
      out[k] = data[src];
    }
    return out;
  }

  /**
   * A readable message for anything thrown.
   *
   * @param error - Anything.
   * @returns Its message.
   */
  export function message(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }
}
