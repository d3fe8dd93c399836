/** Command ids of the Spotlight extension. */
export namespace CommandIds {
  /** Open (or reveal) the Spotlight panel. */
  export const open = 'jupyterlab-spotlight:open';
  /** List the kernel's variables with their roles (refreshes the panel). */
  export const listVariables = 'jupyterlab-spotlight:list-variables';
  /** Run an audit; args: variable names and options. */
  export const run = 'jupyterlab-spotlight:run';
  /** Cancel the running audit. */
  export const cancel = 'jupyterlab-spotlight:cancel';
  /** Select a region and show its examples; args: `{region}` (from 0). */
  export const inspectRegion = 'jupyterlab-spotlight:inspect-region';
  /** Save a region (or all) into the notebook; args: `{region: number | "all"}`. */
  export const saveFinding = 'jupyterlab-spotlight:save-finding';
  /** Put a region's kernel weights into the kernel; args: `{region, name?}`. */
  export const exportRegion = 'jupyterlab-spotlight:export-region';
  /**
   * Open (or reveal) the audit view in the main area, beside the notebook:
   * the overview map, the regions and the selected region's details.
   * Args: `activate?` (default true). The one place the view is opened.
   */
  export const openAuditView = 'jupyterlab-spotlight:open-audit-view';
  /**
   * Add a manual region from example rows; args: `{indices, name?}`.
   * Returns the region's summary.
   */
  export const addRegion = 'jupyterlab-spotlight:add-region';
  /** Reopen the findings saved in the current notebook. */
  export const openFindings = 'jupyterlab-spotlight:open-findings';
}
