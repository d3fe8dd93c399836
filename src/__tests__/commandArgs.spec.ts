import {
  COMMAND_ARGUMENTS,
  ORIGIN_ARGUMENTS,
  unknownArguments,
  unknownArgumentsMessage
} from '../commandArgs';
import { CommandIds } from '../commandIds';
import { ROLES } from '../tokens';

describe('unknownArguments', () => {
  it('names every argument a command does not take, in the order given', () => {
    expect(
      unknownArguments(
        { steps: 5, step: 5, embeddings: 'e', lr: 0.1 },
        COMMAND_ARGUMENTS.run
      )
    ).toEqual(['step', 'lr']);
    expect(unknownArguments({ region: 0 }, COMMAND_ARGUMENTS.cancel)).toEqual([
      'region'
    ]);
  });

  it('accepts no arguments, known ones and the toolbar marker JupyterLab adds', () => {
    expect(unknownArguments(undefined, COMMAND_ARGUMENTS.open)).toEqual([]);
    expect(unknownArguments(null, COMMAND_ARGUMENTS.run)).toEqual([]);
    expect(unknownArguments({ toolbar: true }, COMMAND_ARGUMENTS.open)).toEqual(
      []
    );
    expect(ORIGIN_ARGUMENTS).toEqual(['toolbar']);
    const all = Object.fromEntries(COMMAND_ARGUMENTS.run.map(k => [k, 1]));
    expect(unknownArguments(all, COMMAND_ARGUMENTS.run)).toEqual([]);
  });

  it('has an argument list for every command, and run takes every role', () => {
    expect(Object.keys(COMMAND_ARGUMENTS).sort()).toEqual(
      Object.keys(CommandIds).sort()
    );
    for (const role of ROLES) {
      expect(COMMAND_ARGUMENTS.run).toContain(role);
    }
  });
});

describe('unknownArgumentsMessage', () => {
  it('names the command, the unknown arguments and the ones it takes', () => {
    expect(
      unknownArgumentsMessage(CommandIds.saveFinding, ['regions'], ['region'])
    ).toBe(
      "jupyterlab-spotlight:save-finding does not take the argument 'regions'; it takes: region. Nothing was done."
    );
    expect(unknownArgumentsMessage(CommandIds.cancel, ['a', 'b'], [])).toBe(
      "jupyterlab-spotlight:cancel does not take the arguments 'a', 'b'; it takes no arguments. Nothing was done."
    );
  });
});
