/**
 * Reading NumPy .npy arrays for the command line, through the maintained
 * `npyjs` parser (header and typed view), plus what it leaves to the caller:
 * Fortran-order transposition, float64 → float32 conversion, byte-order and
 * size checks. Node-free: takes the file's bytes.
 */
import { parse } from 'npyjs';

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

/** A float32 array in C (row-major) order with its shape. */
export interface INpyArray {
  /** Row-major values. */
  data: Float32Array;
  /** The shape, e.g. [N, D]. */
  shape: number[];
  /** The stored dtype (`f4` or `f8`). */
  dtype: 'f4' | 'f8';
  /** Whether the file was in Fortran (column-major) order. */
  fortranOrder: boolean;
}

/**
 * Parse an .npy file holding float32 or float64 values, C or Fortran order.
 *
 * @param bytes - The file's contents.
 * @param label - What the file is, for messages (e.g. "--embeddings E.npy").
 * @returns The values as float32 in row-major order, with the shape.
 * @throws NpyError naming the problem (not .npy, dtype, byte order, truncated, float32 overflow).
 */
export function readNpy(bytes: Uint8Array, label: string): INpyArray {
  // A private copy: Node's Buffers may share a pooled ArrayBuffer.
  const buffer = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength
  );
  const descr = Private.descr(new Uint8Array(buffer), label);
  if (descr.startsWith('>')) {
    throw new NpyError(
      `${label} is big-endian ('${descr}'): save it little-endian, e.g. np.save(path, arr.astype('<f4')).`
    );
  }
  const code = descr.replace(/^[<|=]/, '');
  if (code !== 'f4' && code !== 'f8') {
    throw new NpyError(
      `${label} has dtype '${descr}', but only float32 and float64 are read: save it with np.save(path, arr.astype(np.float32)).`
    );
  }
  const width = code === 'f4' ? 4 : 8;
  const payload =
    buffer.byteLength - Private.dataOffset(new Uint8Array(buffer));
  if (payload < 0 || payload % width !== 0) {
    throw new NpyError(
      `${label} is truncated or damaged: its data is ${Math.max(0, payload)} bytes, not a whole number of ${width}-byte values.`
    );
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(Private.realign(buffer, width));
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
  const raw = parsed.data as Float32Array | Float64Array;
  if (raw.length < size) {
    throw new NpyError(
      `${label} is truncated: its header announces ${size} values of shape (${shape.join(', ')}) but the file holds ${raw.length}.`
    );
  }
  const values = raw.length === size ? raw : raw.subarray(0, size);
  let data: Float32Array;
  if (code === 'f4') {
    data = new Float32Array(values);
  } else {
    data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const x = values[i];
      const y = Math.fround(x);
      if (Number.isFinite(x) && !Number.isFinite(y)) {
        throw new NpyError(
          `${label} holds ${x} at flat index ${i}, beyond the float32 range the search computes in: rescale the array.`
        );
      }
      data[i] = y;
    }
  }
  if (parsed.fortranOrder && shape.length >= 2) {
    data = Private.toRowMajor(data, shape);
  }
  return {
    data,
    shape: [...shape],
    dtype: code,
    fortranOrder: parsed.fortranOrder
  };
}

/** Helpers. */
namespace Private {
  /**
   * Read the `descr` of an .npy header (npyjs drops the byte-order mark).
   *
   * @param bytes - The file.
   * @param label - For messages.
   * @returns The descr string, e.g. `<f4`.
   */
  export function descr(bytes: Uint8Array, label: string): string {
    const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
    if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
      throw new NpyError(
        `${label} is not an .npy file (no \\x93NUMPY magic): save it with np.save.`
      );
    }
    const major = bytes[6];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLength =
      major <= 1 ? view.getUint16(8, true) : view.getUint32(8, true);
    const start = major <= 1 ? 10 : 12;
    const header = new TextDecoder('latin1').decode(
      bytes.subarray(start, start + headerLength)
    );
    const match = /'descr'\s*:\s*'([^']+)'/.exec(header);
    if (!match) {
      throw new NpyError(
        `${label} has no dtype in its header (structured arrays are not supported): save a plain float array.`
      );
    }
    return match[1];
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
