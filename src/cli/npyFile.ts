/**
 * .npy files of any size for the command line (issue 11, item 5): the header
 * by a small ranged read, the file's size checked against it before any data
 * is read, then the values read in blocks of rows and converted to float32
 * exactly as `readNpy` (npy.ts) converts a whole file. No whole-file buffer,
 * so no 2 GiB limit and no second copy of X.
 */
import { open } from 'node:fs/promises';

import {
  decodeNpyValues,
  INpyHeader,
  NpyError,
  npyHeaderLength,
  parseNpyHeader
} from './npy';

/** A file read by byte ranges. */
export interface IRandomAccessFile {
  /** Size in bytes. */
  readonly size: number;
  /**
   * Read bytes [position, position + length) (fewer at the end of the file).
   *
   * @param position - Byte offset.
   * @param length - Bytes wanted.
   * @returns The bytes read.
   */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Close the file; idempotent. */
  close(): Promise<void>;
}

/**
 * Open a file for ranged reads with Node's `fs`.
 *
 * @param path - The file.
 * @returns The file (its owner closes it).
 * @throws The file system's error (ENOENT, EACCES, EISDIR, …).
 */
export async function openNodeFile(path: string): Promise<IRandomAccessFile> {
  const handle = await open(path, 'r');
  let closed = false;
  try {
    const { size } = await handle.stat();
    return {
      size,
      async read(position: number, length: number): Promise<Uint8Array> {
        const out = new Uint8Array(
          Math.max(0, Math.min(length, size - position))
        );
        let done = 0;
        while (done < out.length) {
          const { bytesRead } = await handle.read(
            out,
            done,
            out.length - done,
            position + done
          );
          if (bytesRead === 0) {
            break;
          }
          done += bytesRead;
        }
        return done === out.length ? out : out.subarray(0, done);
      },
      async close(): Promise<void> {
        if (!closed) {
          closed = true;
          await handle.close();
        }
      }
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * A file held in memory, read by ranges (tests; small inputs).
 *
 * @param bytes - The file's contents.
 * @returns The file.
 */
export function memoryFile(bytes: Uint8Array): IRandomAccessFile {
  return {
    size: bytes.length,
    read: async (position, length) =>
      bytes.subarray(position, Math.min(bytes.length, position + length)),
    close: async () => undefined
  };
}

/** An .npy file whose header has been read and whose size has been checked. */
export interface INpySource {
  /** The file. */
  file: IRandomAccessFile;
  /** What it is, for messages (e.g. "--embeddings E.npy"). */
  label: string;
  /** Its header. */
  header: INpyHeader;
}

/**
 * Read an .npy file's header (at most 12 bytes, then the header itself) and
 * check the file's size against it.
 *
 * @param file - The file.
 * @param label - What it is, for messages.
 * @returns The source, ready for `readNpyRows` / `readNpyValues`.
 * @throws NpyError for a file that is not .npy, a dtype that is not read, or
 *   a file shorter than its header announces (naming both sizes).
 */
export async function openNpy(
  file: IRandomAccessFile,
  label: string
): Promise<INpySource> {
  const first = await file.read(0, 12);
  const end = npyHeaderLength(first, label);
  if (end > file.size) {
    throw new NpyError(
      `${label} is truncated inside its .npy header (the header needs ${end} bytes, the file has ${file.size}): save it again.`
    );
  }
  const header = parseNpyHeader(await file.read(0, end), label);
  const need = header.dataOffset + header.dataBytes;
  if (file.size < need) {
    throw new NpyError(
      `${label} is truncated: its header announces shape (${header.shape.join(', ')}) of ${header.dtype}, ` +
        `${need.toLocaleString('en-US')} bytes with the header, but the file has ${file.size.toLocaleString('en-US')} bytes. ` +
        'It may have been cut off while being written or copied: save or copy it again.'
    );
  }
  return { file, label, header };
}

/** Bytes of stored values per block read. */
export const NPY_BLOCK_BYTES = 2 ** 24;

/**
 * Read every value of an array in file order, as float32 (losses: shape
 * (N,), (N, 1) or (1, N), whose file order is their order).
 *
 * @param source - The opened file.
 * @returns Π shape float32 values.
 * @throws NpyError for a float64 value beyond the float32 range.
 */
export async function readNpyValues(source: INpySource): Promise<Float32Array> {
  const { header, file, label } = source;
  const count = header.dataBytes / header.width;
  const out = new Float32Array(count);
  const per = Math.max(1, Math.floor(NPY_BLOCK_BYTES / header.width));
  for (let start = 0; start < count; start += per) {
    const n = Math.min(per, count - start);
    const bytes = await file.read(
      header.dataOffset + start * header.width,
      n * header.width
    );
    out.set(decodeNpyValues(bytes, header, label, start), start);
  }
  return out;
}

/**
 * Read the rows of a 2-D N × D array in blocks, in row-major float32.
 * C-order files are read one contiguous range per block; Fortran-order files
 * one range per column per block.
 *
 * @param source - The opened file (2-D).
 * @param onBlock - Called with each block's first row and its rows × D
 *   values (a fresh array the callee may keep); awaited before the next read.
 * @param blockBytes - Stored bytes per block (default `NPY_BLOCK_BYTES`).
 * @throws NpyError for a float64 value beyond the float32 range.
 */
export async function readNpyRows(
  source: INpySource,
  onBlock: (start: number, rows: Float32Array) => Promise<void>,
  blockBytes = NPY_BLOCK_BYTES
): Promise<void> {
  const { header, file, label } = source;
  const [n, d] = header.shape;
  const w = header.width;
  const per = Math.max(1, Math.floor(blockBytes / (d * w)));
  for (let start = 0; start < n; start += per) {
    const rows = Math.min(per, n - start);
    let block: Float32Array;
    if (!header.fortranOrder) {
      const bytes = await file.read(
        header.dataOffset + start * d * w,
        rows * d * w
      );
      block = decodeNpyValues(bytes, header, label, start * d);
    } else {
      block = new Float32Array(rows * d);
      for (let j = 0; j < d; j++) {
        const at = j * n + start;
        const bytes = await file.read(header.dataOffset + at * w, rows * w);
        const column = decodeNpyValues(bytes, header, label, at);
        for (let i = 0; i < rows; i++) {
          block[i * d + j] = column[i];
        }
      }
    }
    await onBlock(start, block);
  }
}
