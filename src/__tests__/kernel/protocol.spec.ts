import * as fs from 'fs';
import * as path from 'path';

import {
  bufferBytes,
  decodeList,
  isAcceptableName,
  isCheckReply,
  isErrorReply,
  isExamplesReply,
  isFetchBeginReply,
  isFetchChunkReply,
  isReply,
  isTransferToken
} from '../../kernel/protocol';

const GOLDEN = path.resolve(__dirname, '../../../protocol/v1');

interface IGolden {
  description: string;
  data: Record<string, unknown>;
  buffers_hex?: string[];
}

function golden(name: string): IGolden {
  return JSON.parse(fs.readFileSync(path.join(GOLDEN, `${name}.json`), 'utf8'));
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

describe('golden payloads (shared with pytest)', () => {
  const files = fs.readdirSync(GOLDEN).filter(f => f.endsWith('.json'));

  it('are all version-1 messages', () => {
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const g = JSON.parse(fs.readFileSync(path.join(GOLDEN, file), 'utf8'));
      expect(isReply(g.data)).toBe(true);
    }
  });

  it('decode every error reply with a code and a message', () => {
    const errors = files.filter(f => f.startsWith('error-'));
    expect(errors.length).toBeGreaterThan(5);
    for (const file of errors) {
      const data = golden(file.replace('.json', '')).data;
      expect(isErrorReply(data)).toBe(true);
    }
    const mismatch = golden('error-length-mismatch').data as any;
    expect(mismatch.code).toBe('length-mismatch');
    expect(mismatch.message).toMatch(/rows/);
  });

  it('decode the list reply into variables with roles', () => {
    const variables = decodeList(golden('list-reply').data);
    expect(variables).not.toBeNull();
    expect(variables!.length).toBeGreaterThan(0);
    for (const v of variables!) {
      expect(typeof v.name).toBe('string');
      expect(Array.isArray(v.roles)).toBe(true);
    }
    expect(variables!.some(v => v.roles.includes('embeddings'))).toBe(true);
  });

  it('check fetch-begin and fetch-chunk replies, and reassemble the chunk bytes', () => {
    const begin = golden('fetch-begin-reply').data;
    expect(isFetchBeginReply(begin)).toBe(true);
    const chunk = golden('fetch-chunk-reply');
    expect(isFetchChunkReply(chunk.data)).toBe(true);
    const bytes = hexBytes(chunk.buffers_hex![0]);
    expect(bytes.byteLength).toBe(chunk.data.nbytes);
    const values = new Float32Array(bytes.buffer);
    expect(values.length * 4).toBe(chunk.data.nbytes);
    expect(Array.from(values).every(Number.isFinite)).toBe(true);
    // Labels carry int32 codes.
    expect(isFetchBeginReply(golden('fetch-begin-labels-reply').data)).toBe(
      true
    );
  });

  it('reject a fetch-begin whose size does not match its shape', () => {
    const begin = { ...golden('fetch-begin-reply').data, nbytes: 4 };
    expect(isFetchBeginReply(begin)).toBe(false);
    expect(
      isFetchBeginReply({
        ...golden('fetch-begin-reply').data,
        dtype: 'float64'
      })
    ).toBe(false);
  });

  it('check the file transport replies: a token, or the comm with a reason', () => {
    const file = golden('fetch-begin-file-reply').data;
    expect(isFetchBeginReply(file)).toBe(true);
    expect(file.via).toBe('file');
    expect(isTransferToken(file.token)).toBe(true);
    // Same bytes as the comm transfer of the same variable.
    expect(file.checksum).toBe(golden('fetch-begin-reply').data.checksum);
    const fallback = golden('fetch-begin-file-fallback-reply').data;
    expect(isFetchBeginReply(fallback)).toBe(true);
    expect(fallback.via).toBe('comm');
    expect(fallback.token).toBeUndefined();
    expect(fallback.via_reason).toMatch(/private folder/);
    expect(golden('fetch-begin-file-request').data.via).toBe('file');
  });

  it('reject file transport replies with a bad transport or token', () => {
    const file = golden('fetch-begin-file-reply').data;
    const { token, ...noToken } = file;
    expect(typeof token).toBe('string');
    expect(isFetchBeginReply(noToken)).toBe(false);
    expect(isFetchBeginReply({ ...file, token: '../../etc/passwd' })).toBe(
      false
    );
    expect(isFetchBeginReply({ ...file, token: 'A'.repeat(32) })).toBe(false);
    expect(isFetchBeginReply({ ...file, via: 'http' })).toBe(false);
    expect(isFetchBeginReply({ ...file, via: 'comm' })).toBe(false);
    expect(
      isFetchBeginReply({
        ...golden('fetch-begin-file-fallback-reply').data,
        via_reason: 3
      })
    ).toBe(false);
  });

  it('check every examples reply kind', () => {
    for (const kind of ['image', 'text', 'table', 'value']) {
      const reply = golden(`examples-${kind}-reply`).data;
      expect(isExamplesReply(reply)).toBe(true);
    }
    expect(
      isExamplesReply({ version: 1, op: 'examples', kind: 'html', items: [] })
    ).toBe(false);
  });

  it('check the check reply', () => {
    expect(isCheckReply(golden('check-reply').data)).toBe(true);
    expect(isCheckReply({ version: 1, op: 'check', n: -1, d: 2 })).toBe(false);
  });
});

describe('isTransferToken', () => {
  it('accepts exactly 32 lowercase hex digits', () => {
    expect(isTransferToken('0123456789abcdef0123456789abcdef')).toBe(true);
    for (const bad of [
      '',
      '0'.repeat(31),
      '0'.repeat(33),
      'g'.repeat(32),
      'ABCDEF0123456789abcdef0123456789',
      `${'0'.repeat(32)}.part`,
      `../${'0'.repeat(29)}`,
      `${'0'.repeat(16)}/${'0'.repeat(15)}`,
      null,
      32
    ]) {
      expect(isTransferToken(bad)).toBe(false);
    }
  });
});

describe('isReply', () => {
  it('rejects other versions and malformed messages', () => {
    expect(isReply({ version: 2, op: 'list' })).toBe(false);
    expect(isReply({ version: 1 })).toBe(false);
    expect(isReply(null)).toBe(false);
    expect(isReply([1])).toBe(false);
    expect(isReply({ version: 1, op: 'list', request_id: 3 })).toBe(false);
  });
});

describe('bufferBytes', () => {
  it('views DataView, ArrayBuffer and typed arrays without copying', () => {
    const buffer = new ArrayBuffer(8);
    new Uint8Array(buffer).set([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(bufferBytes(buffer))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const view = new DataView(buffer, 2, 3);
    expect(Array.from(bufferBytes(view))).toEqual([3, 4, 5]);
    expect(bufferBytes(view).buffer).toBe(buffer);
    expect(bufferBytes(new Uint8Array(buffer, 6)).length).toBe(2);
    // A trailing empty buffer decodes to zero bytes.
    expect(bufferBytes(new ArrayBuffer(0)).length).toBe(0);
  });
});

describe('isAcceptableName', () => {
  it('accepts names with attribute and key access', () => {
    for (const name of [
      'emb',
      'model.features',
      "df['loss']",
      'outputs["x"][0]',
      'a1_b'
    ]) {
      expect(isAcceptableName(name)).toBe(true);
    }
  });

  it('rejects anything that could be code', () => {
    for (const name of [
      "x); import os; os.system('touch /tmp/pwned'); (x",
      "__import__('os')",
      'a.__class__',
      '_private',
      'f()',
      "df['a'] + 1",
      '',
      'a b'
    ]) {
      expect(isAcceptableName(name)).toBe(false);
    }
  });
});
