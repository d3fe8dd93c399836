/**
 * Writes finding cells into a notebook as one undoable step: new findings
 * are inserted, a finding saved before is updated in place; no other cell
 * is changed or moved.
 */
import type { INotebookModel } from '@jupyterlab/notebook';

import { ICellJSON, METADATA_KEY, readFinding } from './cells';

/** A cell of the notebook's shared model. */
type ISharedCell = INotebookModel['sharedModel']['cells'][number];

/** Why a write was refused. */
export class NotebookWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookWriteError';
  }
}

/** What {@link saveFindingCells} did. */
export interface ISaveOutcome {
  /** Indices of the cells written (inserted or updated), in order. */
  indices: number[];
  /** Findings whose cells were already in the notebook, updated in place. */
  updated: number;
  /** Findings inserted as new cells. */
  inserted: number;
}

/**
 * Save findings: each one's cells replace, in place, the cells of the same
 * finding saved before (same data fingerprint, audit date and region), so
 * a second save updates rather than duplicates; new findings are inserted
 * after a position. One transaction (one undo step).
 *
 * @param model - The notebook model (borrowed).
 * @param groups - Per finding: its markdown cell (carrying the finding in
 *   its metadata) and its code cell.
 * @param after - Index of the active cell; -1 (or out of range) inserts at the end.
 * @returns The indices written, and how many findings were updated or inserted.
 * @throws {NotebookWriteError} when the notebook is read-only or disposed;
 *   nothing is written then.
 */
export function saveFindingCells(
  model: INotebookModel | null,
  groups: ICellJSON[][],
  after: number
): ISaveOutcome {
  Private.assertWritable(model);
  const shared = model!.sharedModel;
  let updated = 0;
  let inserted = 0;
  let at =
    after >= 0 && after < shared.cells.length ? after + 1 : shared.cells.length;
  shared.transact(() => {
    for (const group of groups) {
      const saved = Private.findSaved(shared.cells, group[0]);
      if (saved < 0) {
        shared.insertCells(at, group.map(Private.toShared) as any);
        at += group.length;
        inserted++;
        continue;
      }
      updated++;
      group.forEach((cell, i) => {
        const index = saved + i;
        const existing = shared.cells[index];
        if (existing && Private.sameSlot(existing, cell)) {
          existing.setSource(cell.source);
          existing.setMetadata(cell.metadata as any);
          if (existing.cell_type === 'code') {
            (existing as any).setOutputs([]);
            (existing as any).execution_count = null;
          }
        } else {
          shared.insertCells(index, [Private.toShared(cell)] as any);
          if (at > index) {
            at++;
          }
        }
      });
    }
  });
  // The shared model's list of cells is brought up to date when the
  // transaction ends: find each finding's cells now.
  const indices = groups.flatMap(group => {
    const index = Private.findSaved(shared.cells, group[0]);
    return group.map((_, i) => index + i);
  });
  return { indices, updated, inserted };
}

/**
 * Insert cells after a position as a single transaction (one undo step).
 *
 * @param model - The notebook model (borrowed).
 * @param cells - Cells to insert, in order.
 * @param after - Index of the active cell; -1 (or out of range) inserts at the end.
 * @returns The indices of the inserted cells.
 * @throws {NotebookWriteError} when the notebook is read-only or disposed;
 *   nothing is written then.
 */
export function insertCellsAfter(
  model: INotebookModel | null,
  cells: ICellJSON[],
  after: number
): number[] {
  Private.assertWritable(model);
  const shared = model!.sharedModel;
  const count = shared.cells.length;
  const index = after >= 0 && after < count ? after + 1 : count;
  shared.transact(() => {
    shared.insertCells(index, cells.map(Private.toShared) as any);
  });
  return cells.map((_, i) => index + i);
}

namespace Private {
  /** Throw unless the notebook can be written. */
  export function assertWritable(model: INotebookModel | null): void {
    if (!model || model.isDisposed) {
      throw new NotebookWriteError(
        'The notebook was closed; open it again and save the finding from the panel.'
      );
    }
    if (model.readOnly) {
      throw new NotebookWriteError(
        'This notebook is read-only, so the finding cannot be saved into it. Make a copy (File → Save Notebook As…) and save the finding there.'
      );
    }
  }

  /** A cell as the shared model inserts it. */
  export function toShared(c: ICellJSON): Record<string, unknown> {
    return c.cell_type === 'code'
      ? {
          cell_type: 'code',
          source: c.source,
          metadata: c.metadata,
          outputs: [],
          execution_count: null
        }
      : { cell_type: 'markdown', source: c.source, metadata: c.metadata };
  }

  /**
   * The index of the markdown cell of the same finding saved before (same
   * fingerprint, audit date and region), or -1.
   */
  export function findSaved(
    cells: readonly ISharedCell[],
    first: ICellJSON
  ): number {
    const finding = readFinding(first.metadata);
    if (!finding) {
      return -1;
    }
    return cells.findIndex(cell => {
      if (cell.cell_type !== first.cell_type) {
        return false;
      }
      const saved = readFinding(cell.getMetadata() as Record<string, unknown>);
      return (
        !!saved &&
        saved.fingerprint === finding.fingerprint &&
        saved.date === finding.date &&
        saved.region === finding.region
      );
    });
  }

  /**
   * Whether an existing cell is the saved counterpart of a new one: the
   * same type, and for the code cell our metadata for the same region.
   */
  export function sameSlot(existing: ISharedCell, cell: ICellJSON): boolean {
    if (existing.cell_type !== cell.cell_type) {
      return false;
    }
    if (cell.cell_type === 'markdown') {
      return true;
    }
    const mine = cell.metadata[METADATA_KEY] as
      { region?: unknown; role?: unknown } | undefined;
    const theirs = (existing.getMetadata() as Record<string, unknown>)[
      METADATA_KEY
    ] as { region?: unknown; role?: unknown } | undefined;
    return (
      !!mine &&
      !!theirs &&
      theirs.role === 'code' &&
      theirs.region === mine.region
    );
  }
}
