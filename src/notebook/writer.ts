/**
 * Inserts finding cells into a notebook as one undoable step, never changing
 * or moving an existing cell.
 */
import type { INotebookModel } from '@jupyterlab/notebook';

import type { ICellJSON } from './cells';

/** Why a write was refused. */
export class NotebookWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotebookWriteError';
  }
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
  const shared = model.sharedModel;
  const count = shared.cells.length;
  const index = after >= 0 && after < count ? after + 1 : count;
  shared.transact(() => {
    shared.insertCells(
      index,
      cells.map(c =>
        c.cell_type === 'code'
          ? {
              cell_type: 'code',
              source: c.source,
              metadata: c.metadata,
              outputs: [],
              execution_count: null
            }
          : { cell_type: 'markdown', source: c.source, metadata: c.metadata }
      ) as any
    );
  });
  return cells.map((_, i) => index + i);
}
