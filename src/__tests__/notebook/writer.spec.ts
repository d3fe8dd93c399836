import { NotebookModel } from '@jupyterlab/notebook';

import type { ICellJSON } from '../../notebook/cells';
import {
  insertCellsAfter,
  NotebookWriteError,
  saveFindingCells
} from '../../notebook/writer';

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

/** The two cells of a finding (only what readFinding needs in its metadata). */
function findingGroup(
  region: number,
  date: string,
  text: string,
  fingerprint = 'abcd0123'
): ICellJSON[] {
  const finding = {
    version: 1,
    region,
    of: 3,
    names: { embeddings: 'emb', losses: 'loss' },
    center: 'AAAAAA==',
    precision: 1,
    date,
    fingerprint,
    summary: {}
  };
  return [
    {
      cell_type: 'markdown',
      source: `### region ${region} ${text}`,
      metadata: { jupyterlab_spotlight: { version: 1, finding } }
    },
    {
      cell_type: 'code',
      source: `weights_${region} = ${text}`,
      metadata: { jupyterlab_spotlight: { version: 1, region, role: 'code' } }
    }
  ];
}

describe('saveFindingCells', () => {
  it('inserts new findings after the active cell', () => {
    const model = notebook(['a', 'b']);
    const outcome = saveFindingCells(
      model,
      [findingGroup(1, 'd1', 'one'), findingGroup(2, 'd1', 'two')],
      0
    );
    expect(outcome).toEqual({ indices: [1, 2, 3, 4], updated: 0, inserted: 2 });
    expect(model.sharedModel.cells.map(c => c.getSource())).toEqual([
      'a',
      '### region 1 one',
      'weights_1 = one',
      '### region 2 two',
      'weights_2 = two',
      'b'
    ]);
    model.dispose();
  });

  it('updates the cells of a finding saved before, in place, instead of duplicating them', () => {
    const model = notebook(['a', 'b']);
    saveFindingCells(model, [findingGroup(1, 'd1', 'old')], 0);
    const ids = model.sharedModel.cells.map(c => c.id);
    // Saved again from another active cell, with a new text: same cells.
    const outcome = saveFindingCells(
      model,
      [findingGroup(1, 'd1', 'new'), findingGroup(2, 'd1', 'two')],
      3
    );
    expect(outcome).toEqual({ indices: [1, 2, 4, 5], updated: 1, inserted: 1 });
    expect(model.sharedModel.cells.map(c => c.getSource())).toEqual([
      'a',
      '### region 1 new',
      'weights_1 = new',
      'b',
      '### region 2 two',
      'weights_2 = two'
    ]);
    expect(model.sharedModel.cells.slice(0, 4).map(c => c.id)).toEqual(ids);
    // Saved a third time: still one pair per finding.
    saveFindingCells(model, [findingGroup(1, 'd1', 'third')], -1);
    expect(model.sharedModel.cells).toHaveLength(6);
    expect(model.sharedModel.cells[1].getSource()).toBe('### region 1 third');
    model.dispose();
  });

  it('keeps findings of another audit (other date or data) apart', () => {
    const model = notebook(['a']);
    saveFindingCells(model, [findingGroup(1, 'd1', 'first audit')], 0);
    saveFindingCells(model, [findingGroup(1, 'd2', 'second audit')], -1);
    saveFindingCells(
      model,
      [findingGroup(1, 'd2', 'other data', 'ffff0000')],
      -1
    );
    expect(model.sharedModel.cells).toHaveLength(7);
    model.dispose();
  });

  it('clears the outputs of an updated code cell, and is one undo step', () => {
    const model = notebook(['a']);
    saveFindingCells(model, [findingGroup(1, 'd1', 'old')], 0);
    const code = model.sharedModel.cells[2] as any;
    code.setOutputs([{ output_type: 'stream', name: 'stdout', text: 'stale' }]);
    model.sharedModel.clearUndoHistory();
    saveFindingCells(model, [findingGroup(1, 'd1', 'new')], 0);
    expect(code.getOutputs()).toEqual([]);
    expect(model.sharedModel.cells[1].getSource()).toBe('### region 1 new');
    model.sharedModel.undo();
    expect(model.sharedModel.cells[1].getSource()).toBe('### region 1 old');
    model.dispose();
  });

  it('refuses a read-only notebook and writes nothing', () => {
    const model = notebook(['a']);
    model.readOnly = true;
    expect(() =>
      saveFindingCells(model, [findingGroup(1, 'd1', 'x')], 0)
    ).toThrow(NotebookWriteError);
    expect(model.sharedModel.cells).toHaveLength(1);
    model.dispose();
  });
});
