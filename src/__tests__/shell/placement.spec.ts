/**
 * Where views open: JupyterLab's dock panel (main area, split right of the
 * notebook) or, in shells without one (Notebook 7), the down area.
 */
import { LabShell } from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

import { addView, VIEW_TYPE, viewPlacement } from '../../placement';

describe('viewPlacement', () => {
  it('opens views split right of the notebook in JupyterLab', () => {
    const shell = new LabShell();
    try {
      expect(viewPlacement(shell, 'notebook-1')).toEqual({
        area: 'main',
        hiddenUntilActivated: false,
        options: {
          activate: false,
          mode: 'split-right',
          ref: 'notebook-1',
          type: VIEW_TYPE
        }
      });
    } finally {
      shell.dispose();
    }
  });

  it("opens views in the down area of a shell without a dock panel (Notebook 7's)", () => {
    // Notebook 7's NotebookShell is a Widget with its own add(); it is not a LabShell.
    const shell = Object.assign(new Widget(), {
      add: jest.fn()
    }) as unknown as Parameters<typeof viewPlacement>[0];
    expect(viewPlacement(shell, 'notebook-1')).toEqual({
      area: 'down',
      hiddenUntilActivated: true,
      options: { type: VIEW_TYPE }
    });
  });
});

describe('addView', () => {
  it('shows a view in the down area and gives the keyboard focus back', () => {
    const calls: string[] = [];
    const input = document.createElement('input');
    document.body.appendChild(input);
    input.focus();
    const shell = Object.assign(new Widget(), {
      add: (widget: Widget, area: string) =>
        calls.push(`add ${widget.id} ${area}`),
      activateById: (id: string) => {
        calls.push(`activate ${id}`);
        input.blur(); // activation takes the focus
      }
    });
    const view = new Widget();
    view.id = 'view';
    addView({ shell } as any, view, 'notebook-1');
    expect(calls).toEqual(['add view down', 'activate view']);
    expect(document.activeElement).toBe(input);
    input.remove();
  });

  it('adds a view to the main area of JupyterLab without activating it', () => {
    const shell = new LabShell();
    const add = jest.spyOn(shell, 'add');
    const activate = jest.spyOn(shell, 'activateById');
    const view = new Widget();
    view.id = 'view';
    try {
      addView({ shell } as any, view);
      expect(add).toHaveBeenCalledWith(view, 'main', {
        activate: false,
        mode: 'split-right',
        ref: undefined,
        type: VIEW_TYPE
      });
      expect(activate).not.toHaveBeenCalled();
    } finally {
      shell.dispose();
    }
  });
});
