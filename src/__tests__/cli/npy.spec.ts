/**
 * Reading .npy files for the CLI: float32 and float64, C and Fortran order,
 * and every refusal.
 */
import { dump } from 'npyjs';

import { NpyError, readNpy } from '../../cli/npy';
import { npy, toFortran } from './npyfile';

const M = [1, 2, 3, 4, 5, 6]; // 2 × 3, row-major

describe('readNpy', () => {
  it('reads float32 in C order, as numpy and npyjs write it', () => {
    const a = readNpy(new Uint8Array(dump(Float32Array.from(M), [2, 3])), 'x');
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('f4');
    expect(a.fortranOrder).toBe(false);
    expect(Array.from(a.data)).toEqual(M);
    expect(a.data).toBeInstanceOf(Float32Array);
  });

  it('reads float64 in C order, converting to float32', () => {
    const a = readNpy(npy([0.1, 2, 3, 4, 5, 6], [2, 3], { descr: '<f8' }), 'x');
    expect(a.dtype).toBe('f8');
    expect(a.data[0]).toBe(Math.fround(0.1));
  });

  it('reads Fortran order, float32 and float64, into row-major order', () => {
    for (const descr of ['<f4', '<f8']) {
      const a = readNpy(
        npy(toFortran(M, 2, 3), [2, 3], { descr, fortran: true }),
        'x'
      );
      expect(a.fortranOrder).toBe(true);
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual(M);
    }
    // Rank 3: element (i, j, k) of shape (2, 3, 2) at i + 2j + 6k in Fortran order.
    const f = new Array<number>(12);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 2; k++) {
          f[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
        }
      }
    }
    const a = readNpy(npy(f, [2, 3, 2], { fortran: true }), 'x');
    expect(Array.from(a.data)).toEqual([
      0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121
    ]);
  });

  it('reads 1-D arrays, format version 2, and headers that misalign the data', () => {
    expect(Array.from(readNpy(npy([1, 2, 3], [3]), 'x').data)).toEqual([
      1, 2, 3
    ]);
    expect(
      Array.from(readNpy(npy([1, 2, 3], [3], { version: 2 }), 'x').data)
    ).toEqual([1, 2, 3]);
    const odd = npy([1, 2, 3], [3], { descr: '<f8', align: 1 });
    expect(Array.from(readNpy(odd, 'x').data)).toEqual([1, 2, 3]);
  });

  it('reads from a view into a larger buffer', () => {
    const file = npy(M, [2, 3]);
    const big = new Uint8Array(file.length + 13);
    big.set(file, 7);
    expect(
      Array.from(readNpy(big.subarray(7, 7 + file.length), 'x').data)
    ).toEqual(M);
  });

  it('refuses what it cannot read, naming the file and the fix', () => {
    const refuse = (bytes: Uint8Array, pattern: RegExp) => {
      expect(() => readNpy(bytes, '--losses L.npy')).toThrow(NpyError);
      expect(() => readNpy(bytes, '--losses L.npy')).toThrow(pattern);
    };
    refuse(
      new TextEncoder().encode('a,b,c\n1,2,3\n'),
      /--losses L.npy is not an .npy file/
    );
    refuse(npy(M, [2, 3], { descr: '>f4' }), /big-endian.*astype\('<f4'\)/);
    refuse(
      npy(M, [2, 3], { descr: '<i8' }),
      /dtype '<i8'.*float32 and float64.*astype\(np.float32\)/
    );
    refuse(npy(M, [2, 3], { descr: '|u1' }), /dtype '\|u1'/);
    refuse(npy(M, [2, 3]).subarray(0, 128 + 10), /truncated/);
    refuse(npy(M, [2, 3]).subarray(0, 128 + 6), /truncated/);
    refuse(npy([1e300], [1], { descr: '<f8' }), /beyond the float32 range/);
  });
});
