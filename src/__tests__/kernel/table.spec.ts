/**
 * Metadata tables on the wire (docs/protocol.md, "Metadata tables"): the
 * golden `columns` and table-fetch payloads that pytest also checks, their
 * type guards, and their decoding into columns for the explanations.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { IFetchedArray } from '../../kernel/bridge';
import {
  isColumnsReply,
  isFetchBeginReply,
  isMetadataColumnInfo
} from '../../kernel/protocol';
import { metadataTableOf } from '../../pipeline';

const GOLDEN = path.resolve(__dirname, '../../../protocol/v1');

function golden(name: string): {
  data: Record<string, any>;
  buffers_hex: string[];
} {
  return JSON.parse(fs.readFileSync(path.join(GOLDEN, `${name}.json`), 'utf8'));
}

function floats(hex: string): Float32Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return new Float32Array(bytes.buffer);
}

describe('metadata tables on the wire', () => {
  it('accepts the golden columns reply and table fetch', () => {
    expect(isColumnsReply(golden('columns-reply').data)).toBe(true);
    expect(isFetchBeginReply(golden('fetch-begin-table-reply').data)).toBe(
      true
    );
  });

  it('decodes the golden table into columns with NaN for missing values', () => {
    const begin = golden('fetch-begin-table-reply').data;
    const data = floats(golden('fetch-chunk-table-reply').buffers_hex[0]);
    const fetched: IFetchedArray = {
      name: 'meta',
      role: 'metadata',
      data,
      shape: begin.shape,
      columns: begin.columns,
      skipped: begin.skipped,
      transport: 'comm'
    };
    const table = metadataTableOf('meta', fetched, 4);
    const [site, score] = table.columns;
    expect(site.kind).toBe('categorical');
    expect(
      Array.from(site.values).map(c =>
        Number.isNaN(c) ? null : site.categories![c]
      )
    ).toEqual(['a', 'b', null, 'a']);
    expect(score.kind).toBe('continuous');
    expect(score.missing).toBe(1);
    expect(Number.isNaN(score.values[1])).toBe(true);
    expect(score.values[3]).toBe(2);
    expect(() => metadataTableOf('meta', fetched, 5)).toThrow(
      /Metadata 'meta' came with 8 values for 2 columns of 5 examples/
    );
  });

  it('refuses malformed column descriptors', () => {
    const good = golden('columns-reply').data.columns[0];
    expect(isMetadataColumnInfo(good)).toBe(true);
    expect(isMetadataColumnInfo({ ...good, kind: 'other' })).toBe(false);
    expect(isMetadataColumnInfo({ ...good, categories: undefined })).toBe(
      false
    );
    expect(isMetadataColumnInfo({ ...good, missing: -1 })).toBe(false);
    const continuous = golden('columns-reply').data.columns[1];
    expect(isMetadataColumnInfo({ ...continuous, categories: ['x'] })).toBe(
      false
    );
    const begin = golden('fetch-begin-table-reply').data;
    expect(
      isFetchBeginReply({ ...begin, columns: begin.columns.slice(1) })
    ).toBe(false);
    expect(isFetchBeginReply({ ...begin, skipped: [{ name: 1 }] })).toBe(false);
    const reply = golden('columns-reply').data;
    expect(isColumnsReply({ ...reply, n: -1 })).toBe(false);
  });
});
