/**
 * A small .npy writer for the CLI tests: any descr (floats, ints, bool;
 * either byte order; other dtypes, or a structured descr such as
 * "[('a', '<f4')]", only for refusals), C or Fortran order,
 * format version 1 or 2, optional header padding that misaligns the data.
 */

/**
 * Write an .npy file.
 *
 * @param values - Values in the order they are stored (C or Fortran); for
 *   '<f2'/'>f2' the float16 bit patterns, for int64/uint64 numbers or bigints.
 * @param shape - The shape.
 * @param options - descr (default '<f4'), fortran order, version, align.
 * @returns The file's bytes.
 */
export function npy(
  values: ArrayLike<number | bigint>,
  shape: number[],
  options: {
    descr?: string;
    fortran?: boolean;
    version?: 1 | 2;
    align?: number;
  } = {}
): Uint8Array {
  const descr = options.descr ?? '<f4';
  const version = options.version ?? 1;
  const align = options.align ?? 64;
  const shapeText =
    shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const descrText = descr.startsWith('[') ? descr : `'${descr}'`;
  let header = `{'descr': ${descrText}, 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  const total = prefix + header.length + 1;
  header += ' '.repeat((align - (total % align)) % align) + '\n';
  const code = descr.replace(/^[<>|=]/, '');
  const little = !descr.startsWith('>');
  const width = parseInt(code.slice(1), 10) || 1;
  const bytes = new Uint8Array(prefix + header.length + values.length * width);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(bytes.buffer);
  if (version === 1) {
    view.setUint16(8, header.length, true);
  } else {
    view.setUint32(8, header.length, true);
  }
  for (let i = 0; i < header.length; i++) {
    bytes[prefix + i] = header.charCodeAt(i);
  }
  const o = prefix + header.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const x = Number(v);
    const at = o + width * i;
    switch (code) {
      case 'f8':
        view.setFloat64(at, x, little);
        break;
      case 'f4':
        view.setFloat32(at, x, little);
        break;
      case 'f2': // the value is the float16's bit pattern
      case 'u2':
        view.setUint16(at, x, little);
        break;
      case 'i2':
        view.setInt16(at, x, little);
        break;
      case 'i4':
        view.setInt32(at, x, little);
        break;
      case 'u4':
        view.setUint32(at, x, little);
        break;
      case 'i8':
        view.setBigInt64(at, BigInt(v), little);
        break;
      case 'u8':
        view.setBigUint64(at, BigInt(v), little);
        break;
      case 'i1':
        view.setInt8(at, x);
        break;
      default:
        view.setUint8(at, x);
    }
  }
  return bytes;
}

/**
 * Column-major copy of a row-major matrix.
 *
 * @param data - Row-major values.
 * @param rows - Rows.
 * @param cols - Columns.
 * @returns Column-major values.
 */
export function toFortran(
  data: ArrayLike<number>,
  rows: number,
  cols: number
): number[] {
  const out = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      out[j * rows + i] = data[i * cols + j];
    }
  }
  return out;
}

/**
 * The float16 bit pattern nearest to a number (ties away from zero: enough
 * for test data; NaN → 0x7e00, beyond 65504 → ±inf).
 *
 * @param x - Any number.
 * @returns The 16-bit pattern.
 */
export function float16Bits(x: number): number {
  if (Number.isNaN(x)) {
    return 0x7e00;
  }
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) {
    return sign | 0x7c00;
  }
  if (a < 2 ** -14) {
    return sign | Math.round(a * 2 ** 24); // subnormal (0x0400 is 2^-14)
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) {
    e--;
  } else if (2 ** (e + 1) <= a) {
    e++;
  }
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  return sign | ((e + 15) << 10) | m;
}
