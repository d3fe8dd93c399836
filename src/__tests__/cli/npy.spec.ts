/**
 * Reading .npy files for the CLI: every accepted dtype, either byte order,
 * C and Fortran order, and every refusal.
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

  it('reads big-endian files, swapping the bytes', () => {
    for (const descr of ['>f4', '>f8', '>i2', '>u4', '>i8']) {
      const a = readNpy(
        npy(toFortran(M, 2, 3), [2, 3], { descr, fortran: true }),
        'x'
      );
      expect(a.bigEndian).toBe(true);
      expect(a.dtype).toBe(descr.slice(1));
      expect(Array.from(a.data)).toEqual(M);
    }
    expect(readNpy(npy([7], [1], { descr: '|u1' }), 'x').bigEndian).toBe(false);
  });

  it('decodes float16 exactly: subnormals, ±0, ±inf, NaN, both byte orders', () => {
    // 0, -0, 1, -2, 65504 (max), 2^-24 (least subnormal), 1023·2^-24, 2^-14
    // (least normal), 0.1 rounded (0x2e66), +inf, -inf, NaN.
    const bits = [
      0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x2e66,
      0x7c00, 0xfc00, 0x7e00
    ];
    const want = [
      0,
      -0,
      1,
      -2,
      65504,
      2 ** -24,
      1023 * 2 ** -24,
      2 ** -14,
      0.0999755859375,
      Infinity,
      -Infinity,
      NaN
    ];
    for (const descr of ['<f2', '>f2']) {
      const a = readNpy(npy(bits, [12], { descr }), 'x');
      expect(a.dtype).toBe('f2');
      want.forEach((w, i) => expect(a.data[i]).toBe(w)); // toBe: Object.is
    }
  });

  it('reads integers and bool, rounding as astype(np.float32) does', () => {
    const ints = readNpy(npy([-128, 127, 0, -1], [4], { descr: '|i1' }), 'x');
    expect(Array.from(ints.data)).toEqual([-128, 127, 0, -1]);
    const u4 = readNpy(
      npy([2 ** 32 - 1, 2 ** 24 + 1], [2], { descr: '<u4' }),
      'x'
    );
    // 2^32 - 1 rounds up to 2^32; 2^24 + 1 is a tie, to even: 2^24.
    expect(Array.from(u4.data)).toEqual([2 ** 32, 2 ** 24]);
    // Beyond 2^53, rounding through a double would round twice:
    // 2^60 + 2^36 + 1 is just above a float32 tie, so it rounds up, where
    // Math.fround(Number(x)) gives 2^60.
    const big = BigInt(2) ** BigInt(60) + BigInt(2) ** BigInt(36);
    const i8 = readNpy(
      npy([big + BigInt(1), -(big + BigInt(1)), big, BigInt(-3)], [4], {
        descr: '<i8'
      }),
      'x'
    );
    expect(Array.from(i8.data)).toEqual([
      2 ** 60 + 2 ** 37,
      -(2 ** 60 + 2 ** 37),
      2 ** 60,
      -3
    ]);
    const u8 = readNpy(
      npy([BigInt(2) ** BigInt(64) - BigInt(1)], [1], { descr: '>u8' }),
      'x'
    );
    expect(u8.data[0]).toBe(2 ** 64);
    const b = readNpy(npy([1, 0, 1], [3], { descr: '|b1' }), 'x');
    expect(b.dtype).toBe('b1');
    expect(Array.from(b.data)).toEqual([1, 0, 1]);
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
    refuse(
      npy([0, 0], [2], { descr: '|O' }),
      /--losses L.npy has dtype '\|O' \(Python objects, pickled\).*np\.save\(path, np\.asarray\(x, dtype=np\.float32\)\)/
    );
    refuse(
      npy([0, 0], [1], { descr: "[('a', '<f4'), ('b', '<i8')]" }),
      /--losses L.npy holds a structured \(record\) array, dtype \[\('a', '<f4'\), \('b', '<i8'\)\].*np\.asarray/
    );
    refuse(
      npy(M, [2, 3], { descr: '<c8' }),
      /dtype '<c8' \(complex\).*np\.abs/
    );
    refuse(npy(M, [2, 3], { descr: '<U1' }), /dtype '<U1' \(strings\)/);
    refuse(npy(M, [2, 3], { descr: '<M8[D]' }), /dtype '<M8\[D\]' \(datetime/);
    refuse(npy(M, [2, 3], { descr: '<f16' }), /'<f16' \(extended-precision/);
    refuse(npy(M, [2, 3], { descr: '<q' }), /dtype '<q', which is not read/);
    refuse(npy(M, [2, 3]).subarray(0, 128 + 10), /truncated/);
    refuse(npy(M, [2, 3]).subarray(0, 128 + 6), /truncated/);
    refuse(npy([1e300], [1], { descr: '<f8' }), /beyond the float32 range/);
  });
});
