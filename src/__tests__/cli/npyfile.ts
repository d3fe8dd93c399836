/**
 * A small .npy writer for the CLI tests: any descr, C or Fortran order,
 * format version 1 or 2, optional header padding that misaligns the data.
 */

/**
 * Write an .npy file.
 *
 * @param values - Values in the order they are stored (C or Fortran).
 * @param shape - The shape.
 * @param options - descr (default '<f4'), fortran order, version, align.
 * @returns The file's bytes.
 */
export function npy(
  values: ArrayLike<number>,
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
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  const total = prefix + header.length + 1;
  header += ' '.repeat((align - (total % align)) % align) + '\n';
  const code = descr.slice(1);
  const little = !descr.startsWith('>');
  const width =
    code === 'f8' || code === 'i8' ? 8 : code === 'f4' || code === 'i4' ? 4 : 1;
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
    const x = values[i];
    if (code === 'f4') {
      view.setFloat32(o + 4 * i, x, little);
    } else if (code === 'f8') {
      view.setFloat64(o + 8 * i, x, little);
    } else if (code === 'i4') {
      view.setInt32(o + 4 * i, x, little);
    } else if (code === 'i8') {
      view.setBigInt64(o + 8 * i, BigInt(x), little);
    } else {
      view.setUint8(o + i, x);
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
