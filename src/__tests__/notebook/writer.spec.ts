import { NotebookModel } from '@jupyterlab/notebook';

import type { ICellJSON } from '../../notebook/cells';
import { insertCellsAfter, NotebookWriteError } from '../../notebook/writer';

const CELLS: ICellJSON[] = [
  {
    cell_type: 'markdown',
    source: '### finding',
    metadata: { jupyterlab_spotlight: { version: 1 } }
  },
  { cell_type: 'code', source: 'x = 1', metadata: {} }
];

function notebook(sources: string[]): NotebookModel {
  const model = new NotebookModel();
  model.sharedModel.insertCells(
    0,
    sources.map(source => ({ cell_type: 'code', source, metadata: {} }) as any)
  );
  model.sharedModel.clearUndoHistory();
  return model;
}

describe('insertCellsAfter', () => {
  it('inserts right after the active cell without touching the others', () => {
    const model = notebook(['a', 'b', 'c']);
    const indices = insertCellsAfter(model, CELLS, 0);
    expect(indices).toEqual([1, 2]);
    const sources = model.sharedModel.cells.map(c => c.getSource());
    expect(sources).toEqual(['a', '### finding', 'x = 1', 'b', 'c']);
    expect(model.sharedModel.cells[1].getMetadata()).toEqual({
      jupyterlab_spotlight: { version: 1 }
    });
    model.dispose();
  });

  it('appends at the end when there is no active cell', () => {
    const model = notebook(['a']);
    expect(insertCellsAfter(model, CELLS, -1)).toEqual([1, 2]);
    expect(insertCellsAfter(model, CELLS, 99)).toEqual([3, 4]);
    model.dispose();
  });

  it('is one undo step', () => {
    const model = notebook(['a', 'b']);
    insertCellsAfter(model, CELLS, 1);
    expect(model.sharedModel.cells).toHaveLength(4);
    model.sharedModel.undo();
    expect(model.sharedModel.cells.map(c => c.getSource())).toEqual(['a', 'b']);
    model.dispose();
  });

  it('refuses a read-only notebook and writes nothing', () => {
    const model = notebook(['a']);
    model.readOnly = true;
    expect(() => insertCellsAfter(model, CELLS, 0)).toThrow(NotebookWriteError);
    expect(() => insertCellsAfter(model, CELLS, 0)).toThrow(/read-only/);
    expect(model.sharedModel.cells).toHaveLength(1);
    model.dispose();
  });

  it('refuses a closed notebook', () => {
    const model = notebook(['a']);
    model.dispose();
    expect(() => insertCellsAfter(model, CELLS, 0)).toThrow(/closed/);
    expect(() => insertCellsAfter(null, CELLS, 0)).toThrow(/closed/);
  });
});
