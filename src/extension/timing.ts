// Every delay and rate limit of the extension host, named, with the reason for its value.

/** A cancelled job that has not ended this long after the request is stopped by killing the worker. */
export const CANCEL_GRACE_MS = 1500;
/** The progress notification is redrawn at most this often (step starts and ends always are): each redraw costs the UI. */
export const NOTIFICATION_REDRAW_MS = 250;
/** The editors' job bar is updated at most this often. */
export const JOB_VIEW_MS = 100;
/**
 * The tree redraws at most this often during a run. It must stay above the 200 ms debounce VS Code
 * puts on onDidChangeTreeData: that debounce restarts on every event, so closer refreshes hold the
 * tree back until the run goes quiet.
 */
export const TREE_REFRESH_MS = 300;
/** run.json files written by the CLI or another window are re-listed this long after the last change (a run rewrites it a few times). */
export const RUN_FILES_SETTLE_MS = 500;
/** A document change reaches the webview after this pause, so a burst of edits (undo of many) renders once. */
export const DOCUMENT_POST_MS = 40;
/** A worker asked to exit on dispose is killed if it is still there after this. */
export const WORKER_EXIT_GRACE_MS = 2000;
/**
 * A Slurm submission's state is read with squeue at most this often. squeue asks the cluster's
 * controller, which every user shares; sites ask for polls seconds apart, and array tasks last minutes.
 */
export const SLURM_POLL_MS = 5000;
