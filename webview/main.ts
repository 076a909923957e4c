// The experiment editor's webview: Words, Setup, Results and Discover tabs. It holds no document of
// its own: the host sends the state derived from the JSON text, and every change goes back
// as a message that the host turns into an edit of the document.
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import {
  parseHostMessage,
  type DocState,
  type HostToWebview,
  type JobView,
  type ResultView,
  type WebviewToHost,
  type SetupFieldView,
  type SetupOption,
} from '../src/protocol/webview';
import type { ClipVariantOption as ClipVariantOptionView } from '../src/protocol/proposal';
import type { HeadMetrics as HeadMetricsView, SetupCheck, WordListKind, WordScore } from '../src/protocol/events';
import { button, h, replaceChildren, svg } from './dom';
import { margin, orderRows, pct, type SortMode } from './format';
import { scoreIndex } from '../src/protocol/wordScores';
import { createDiscoverTab } from './discover';

interface VsCodeApi {
  postMessage(msg: WebviewToHost): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

// ---- UI state that survives the webview being hidden (the host re-sends the data)
interface UiState {
  tab: number;
  sort: SortMode;
  scrollY: number;
}
const saved = vscode.getState() as Partial<UiState> | undefined;
const ui: UiState = {
  tab: typeof saved?.tab === 'number' ? saved.tab : 0,
  sort: saved?.sort === 'weakest' ? 'weakest' : 'file',
  scrollY: typeof saved?.scrollY === 'number' ? saved.scrollY : 0,
};
const saveUi = () => vscode.setState(ui);

// ---- data from the host
let doc: DocState | null = null;
let scores: WordScore[] = [];
/** the projector lambda the scores' logit margins used */
let scoresLambda: number | undefined;
let job: JobView | null = null;
let setup: { checks: SetupCheck[] | null; error?: string } = { checks: null };
let results: ResultView | null = null;
/** the variants the CLIP folder offers (null: not known yet, or Restricted Mode) */
let clipVariants: { variants: ClipVariantOptionView[] | null; error?: string } = { variants: null };
let trusted = true;
/** the row being edited inline: list/group/index of the entry */
let editing: { list: WordListKind; group: string; index: number } | null = null;

const send = (m: WebviewToHost) => vscode.postMessage(m);

// ---- layout
const app = document.getElementById('app')!;
const jobBar = h('div', { class: 'job', testid: 'job-status', attrs: { role: 'status' } });
const notices = h('div', { class: 'notices' });
const trustBanner = h('div', { class: 'banner warn', testid: 'trust-banner' });
const wordsPanel = h('div', { class: 'panel-body' });
const setupPanel = h('div', { class: 'panel-body' });
const resultsPanel = h('div', { class: 'panel-body' });
const title = h('h1', { class: 'title' });
const discoverTab = createDiscoverTab((m) => send(m));

const tabs = h(
  'vscode-tabs',
  { props: { selectedIndex: ui.tab } },
  h('vscode-tab-header', { testid: 'tab-words', attrs: { slot: 'header' } }, 'Words'),
  h('vscode-tab-panel', {}, wordsPanel),
  h('vscode-tab-header', { testid: 'tab-setup', attrs: { slot: 'header' } }, 'Setup'),
  h('vscode-tab-panel', {}, setupPanel),
  h('vscode-tab-header', { testid: 'tab-results', attrs: { slot: 'header' } }, 'Results'),
  h('vscode-tab-panel', {}, resultsPanel),
  h('vscode-tab-header', { testid: 'tab-discover', attrs: { slot: 'header' } }, 'Discover'),
  h('vscode-tab-panel', {}, discoverTab.panel),
);
tabs.addEventListener('vsc-tabs-select', (e) => {
  ui.tab = (e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
  saveUi();
});
replaceChildren(app, h('header', { class: 'top' }, title, jobBar), trustBanner, notices, tabs);

let scrollTimer: number | undefined;
window.addEventListener('scroll', () => {
  if (scrollTimer) return;
  scrollTimer = window.setTimeout(() => {
    scrollTimer = undefined;
    ui.scrollY = window.scrollY;
    saveUi();
  }, 200);
});

// ---- messages
window.addEventListener('message', (ev: MessageEvent) => {
  const parsed = parseHostMessage(ev.data);
  if (!parsed.ok) {
    send({ type: 'log', level: 'warn', message: `webview dropped an invalid host message: ${parsed.error}` });
    return;
  }
  receive(parsed.message);
});

let restoredScroll = false;
function receive(m: HostToWebview): void {
  switch (m.type) {
    case 'document':
      doc = m.doc;
      renderTitle();
      renderWords();
      renderSetup();
      discoverTab.setDocument(m.doc.ok ? m.doc.spuriousName : '', m.doc.ok ? m.doc.spuriousValues : [], m.doc.ok);
      if (!restoredScroll) {
        restoredScroll = true;
        requestAnimationFrame(() => window.scrollTo(0, ui.scrollY));
      }
      return;
    case 'context':
      trusted = m.trusted;
      renderTrust();
      renderWords();
      discoverTab.setBusy(job !== null, trusted);
      return;
    case 'scores':
      scores = m.scores;
      scoresLambda = m.lambda;
      scoreOf = scoreIndex(scores);
      renderWords();
      return;
    case 'job':
      job = m.job;
      renderJob();
      renderWordsToolbarState();
      discoverTab.setBusy(job !== null, trusted);
      return;
    case 'setup':
      setup = { checks: m.checks, ...(m.error ? { error: m.error } : {}) };
      renderSetup();
      return;
    case 'results':
      results = m.result;
      renderResults();
      return;
    case 'notice':
      showNotice(m.level, m.message);
      return;
    case 'clipVariants':
      clipVariants = { variants: m.variants, ...(m.error ? { error: m.error } : {}) };
      renderSetup();
      return;
    case 'discovery':
      discoverTab.setDiscovery(m.discovery);
      return;
  }
}

function showNotice(level: 'info' | 'warn' | 'error', message: string): void {
  const close = h('button', { class: 'link close', attrs: { 'aria-label': 'Dismiss', title: 'Dismiss' } }, '×');
  const el = h('div', { class: `banner ${level}`, testid: 'notice' }, h('span', {}, message), close);
  close.addEventListener('click', () => el.remove());
  notices.appendChild(el);
  if (level !== 'error') window.setTimeout(() => el.remove(), 8000);
  while (notices.childElementCount > 3) notices.firstElementChild?.remove();
}

function renderTitle(): void {
  replaceChildren(
    title,
    doc?.ok && doc.name ? doc.name : (doc?.fileName ?? ''),
    doc?.ok && doc.name ? h('span', { class: 'muted' }, ` · ${doc.fileName}`) : null,
  );
}

function renderTrust(): void {
  trustBanner.hidden = trusted;
  replaceChildren(
    trustBanner,
    'Restricted Mode: words can be edited, but scoring, runs and model checks need a trusted workspace (no model is loaded here).',
  );
}

function renderJob(): void {
  if (!job) {
    jobBar.hidden = true;
    return;
  }
  jobBar.hidden = false;
  const bar = h('vscode-progress-bar', {
    props: job.percent !== undefined ? { value: job.percent, max: 100 } : { indeterminate: true },
    attrs: { 'aria-label': job.label },
  });
  replaceChildren(
    jobBar,
    h('span', { class: 'job-label' }, job.label, job.percent !== undefined ? ` · ${Math.floor(job.percent)}%` : ''),
    job.message ? h('span', { class: 'muted' }, ` ${job.message}`) : null,
    bar,
  );
}

// ---- Words

let scoreOf: ReturnType<typeof scoreIndex> = () => undefined;

const busy = () => job !== null;

/** Keeps what the user is typing (add inputs, the inline editor) across a re-render. */
function captureInputs(): { values: Map<string, string>; focus: string | null; caret: number | null } {
  const values = new Map<string, string>();
  for (const el of Array.from(wordsPanel.querySelectorAll<HTMLInputElement>('input[data-key]'))) values.set(el.dataset.key!, el.value);
  const active = document.activeElement as HTMLInputElement | null;
  const focus = active?.dataset?.key ?? null;
  return { values, focus, caret: focus ? active!.selectionStart : null };
}

function restoreInputs(s: ReturnType<typeof captureInputs>): void {
  for (const el of Array.from(wordsPanel.querySelectorAll<HTMLInputElement>('input[data-key]'))) {
    const v = s.values.get(el.dataset.key!);
    if (v !== undefined && el.dataset.key!.startsWith('add:')) el.value = v;
    if (s.focus === el.dataset.key) {
      el.focus();
      if (s.caret !== null) el.setSelectionRange(s.caret, s.caret);
    }
  }
}

function renderWordsToolbarState(): void {
  for (const el of Array.from(wordsPanel.querySelectorAll<HTMLElement & { disabled: boolean }>('[data-needs-idle]')))
    el.disabled = busy() || !trusted;
}

function renderWords(): void {
  const kept = captureInputs();
  if (!doc) {
    replaceChildren(wordsPanel, h('p', { class: 'muted' }, 'Loading…'));
    return;
  }
  if (!doc.ok) {
    replaceChildren(wordsPanel, h('div', { class: 'banner error', testid: 'doc-error' }, doc.error));
    return;
  }
  const d = doc;
  const all: { list: WordListKind; group: string; index: number; text: string }[] = [];
  for (const list of ['targets', 'spurious'] as const)
    for (const [group, entries] of Object.entries(d.words[list]))
      entries.forEach((e, index) => all.push({ list, group, index, text: e.text }));
  const scored = all.map((w) => scoreOf(w.list, w.group, w.index, w.text));
  const failing = scored.filter((s) => s && !s.pass).length;
  const unscored = scored.filter((s) => !s).length;

  const sortSelect = h(
    'select',
    {
      testid: 'sort-words',
      attrs: { 'aria-label': 'Sort words' },
      on: { change: (e) => ((ui.sort = (e.target as HTMLSelectElement).value as SortMode), saveUi(), renderWords()) },
    },
    h('option', { props: { value: 'file', selected: ui.sort === 'file' } }, 'File order'),
    h('option', { props: { value: 'weakest', selected: ui.sort === 'weakest' } }, 'Weakest margin first'),
  );
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    button('Score words', {
      testid: 'score-words',
      attrs: { 'data-needs-idle': '', title: 'Score every word with CLIP and the classifier (in the background)' },
      on: { click: () => send({ type: 'scoreWords' }) },
    }),
    button('Generate words', {
      testid: 'generate-words',
      secondary: true,
      attrs: { 'data-needs-idle': '', title: 'Ask the LLM for more words for every list' },
      on: { click: () => send({ type: 'generateWords' }) },
    }),
    button('Remove failing words', {
      testid: 'remove-failing',
      secondary: true,
      attrs: { title: 'Remove every scored, failing, unlocked word (undo with Ctrl+Z)' },
      on: { click: () => send({ type: 'removeFailing' }) },
    }),
    h('label', { class: 'sort' }, 'Sort ', sortSelect),
    h('span', { class: 'muted summary', testid: 'words-summary' }, `${all.length} words · ${failing} failing · ${unscored} unscored`),
  );

  const sections: Node[] = [toolbar];
  if (d.problems)
    sections.push(
      h(
        'details',
        { class: 'banner warn', testid: 'doc-problems' },
        h('summary', {}, 'The experiment file has problems (runs will refuse it until they are fixed)'),
        h('pre', {}, d.problems),
      ),
    );
  sections.push(
    h('h2', {}, 'Class words'),
    h(
      'p',
      { class: 'muted hint' },
      'Words that describe each class. A word passes when its CLIP anchor margin and the classifier\u2019s logit margin are both positive.',
      scoresLambda !== undefined
        ? h('span', { testid: 'scores-lambda' }, ` Logit margins use the projector at lambda ${scoresLambda}.`)
        : null,
    ),
  );
  for (const group of Object.keys(d.words.targets)) sections.push(wordTable('targets', group, d.words.targets[group]!));
  sections.push(
    h('h2', {}, `Spurious words: ${d.spuriousName || 'attribute'}`),
    h(
      'p',
      { class: 'muted hint' },
      'Words for each value of the spurious attribute. A word passes when its CLIP anchor margin is positive.',
    ),
  );
  for (const group of Object.keys(d.words.spurious)) sections.push(wordTable('spurious', group, d.words.spurious[group]!));
  replaceChildren(wordsPanel, ...sections);
  renderWordsToolbarState();
  restoreInputs(kept);
}

function badge(kind: 'clip' | 'logit', value: number | undefined, score: WordScore | undefined, list: WordListKind): HTMLElement {
  const testid = kind === 'clip' ? 'clip-badge' : 'logit-badge';
  if (kind === 'logit' && list === 'spurious')
    return h('span', { class: 'badge na', testid, attrs: { 'data-pass': 'na', title: 'Not used for spurious words' } }, 'n/a');
  if (!score || value === undefined)
    return h(
      'span',
      { class: 'badge unscored', testid, attrs: { 'data-pass': 'unscored', title: 'Not scored yet: press "Score words"' } },
      '–',
    );
  const pass = value > 0;
  const what = kind === 'clip' ? 'CLIP anchor margin' : 'classifier logit margin';
  return h(
    'span',
    {
      class: `badge ${pass ? 'pass' : 'fail'}`,
      testid,
      attrs: { 'data-pass': String(pass), title: `${what}: ${value.toFixed(4)}${!pass && score.reason ? `\n${score.reason}` : ''}` },
    },
    `${pass ? '✓' : '✗'} ${margin(value)}`,
  );
}

function wordTable(list: WordListKind, group: string, entries: { text: string; source: 'llm' | 'user'; locked: boolean }[]): HTMLElement {
  const rows = orderRows(
    entries.map((e, index) => ({ ...e, index, score: scoreOf(list, group, index, e.text) })),
    ui.sort,
  );
  const nFail = rows.filter((r) => r.score && !r.score.pass).length;
  const addKey = `add:${list}:${group}`;
  const addInput = h('input', {
    testid: 'add-word-input',
    class: 'text-input',
    attrs: { 'data-key': addKey, placeholder: `Add a word for ${group}…`, 'aria-label': `Add a word for ${group}`, maxlength: '200' },
    on: {
      keydown: (e) => {
        if ((e as KeyboardEvent).key === 'Enter') add();
      },
    },
  });
  const add = () => {
    const text = addInput.value.trim();
    if (!text) return;
    addInput.value = '';
    send({ type: 'edit', edit: { op: 'add', list, group, text } });
  };

  const body = h('tbody', {});
  for (const r of rows) body.appendChild(wordRow(list, group, r));
  if (rows.length === 0)
    body.appendChild(
      h('tr', { class: 'empty' }, h('td', { attrs: { colspan: '6' }, class: 'muted' }, 'No words yet: add some below or generate them.')),
    );

  return h(
    'section',
    { class: 'word-group' },
    h(
      'div',
      { class: 'group-head' },
      h('h3', {}, group),
      h('span', { class: 'muted' }, `${rows.length} word${rows.length === 1 ? '' : 's'}${nFail ? ` · ${nFail} failing` : ''}`),
      button('Generate words', {
        testid: 'generate-words',
        secondary: true,
        attrs: { 'data-list': list, 'data-group': group, 'data-needs-idle': '', title: `Ask the LLM for more words for ${group}` },
        on: { click: () => send({ type: 'generateWords', list, group }) },
      }),
    ),
    h(
      'table',
      { testid: 'word-table', class: 'words', attrs: { 'data-list': list, 'data-group': group } },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { class: 'col-word' }, 'Word'),
          h('th', { attrs: { title: 'cos(word, own anchor) − max cos(word, other anchors); passes when > 0' } }, 'CLIP margin'),
          h('th', { attrs: { title: 'own logit − max other logit of the projected word; passes when > 0' } }, 'Logit margin'),
          h('th', { class: 'col-source' }, 'Source'),
          h('th', {}, 'Lock'),
          h('th', { class: 'col-actions' }, h('span', { class: 'sr-only' }, 'Actions')),
        ),
      ),
      body,
      h(
        'tfoot',
        {},
        h(
          'tr',
          { class: 'add-row' },
          h(
            'td',
            { attrs: { colspan: '6' } },
            h('div', { class: 'add' }, addInput, button('Add', { testid: 'add-word-button', secondary: true, on: { click: add } })),
          ),
        ),
      ),
    ),
  );
}

function wordRow(
  list: WordListKind,
  group: string,
  r: { text: string; source: 'llm' | 'user'; locked: boolean; index: number; score: WordScore | undefined },
): HTMLElement {
  const isEditing = editing?.list === list && editing.group === group && editing.index === r.index;
  const startEdit = () => {
    editing = { list, group, index: r.index };
    renderWords();
    const input = wordsPanel.querySelector<HTMLInputElement>('input[data-testid="word-input"]');
    input?.focus();
    input?.select();
  };
  let wordCell: HTMLElement;
  if (isEditing) {
    let done = false;
    const input = h('input', {
      testid: 'word-input',
      class: 'text-input',
      attrs: { 'data-key': `edit:${list}:${group}:${r.index}`, 'aria-label': 'Edit word', maxlength: '200' },
      props: { value: r.text },
    });
    const commit = (save: boolean) => {
      if (done) return;
      done = true;
      editing = null;
      const newText = input.value.trim();
      if (save && newText && newText !== r.text)
        send({ type: 'edit', edit: { op: 'update', list, group, index: r.index, text: r.text, newText } });
      renderWords();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') commit(true);
      else if (e.key === 'Escape') commit(false);
    });
    input.addEventListener('blur', () => commit(true));
    wordCell = h('td', { class: 'col-word' }, input);
  } else {
    const reason = r.score && !r.score.pass && r.score.reason ? h('div', { testid: 'word-reason', class: 'reason' }, r.score.reason) : null;
    wordCell = h(
      'td',
      { class: 'col-word', on: { dblclick: startEdit } },
      h('span', { testid: 'word-text', class: 'word', attrs: { title: 'Double-click to edit' } }, r.text),
      reason,
    );
  }
  const lock = h('vscode-checkbox', {
    testid: 'lock-word',
    props: { checked: r.locked },
    attrs: { 'aria-label': r.locked ? 'Unlock' : 'Lock', title: 'Locked words are kept by "Remove failing words" and by regeneration' },
    on: {
      change: (e) =>
        send({
          type: 'edit',
          edit: { op: 'lock', list, group, index: r.index, text: r.text, locked: (e.target as HTMLInputElement).checked },
        }),
    },
  });
  return h(
    'tr',
    {
      testid: 'word-row',
      class: r.score ? (r.score.pass ? 'pass' : 'fail') : 'unscored',
      attrs: { 'data-word': r.text, 'data-pass': r.score ? String(r.score.pass) : 'unscored' },
    },
    wordCell,
    h('td', {}, badge('clip', r.score?.clipMargin, r.score, list)),
    h('td', {}, badge('logit', r.score?.logitMargin, r.score, list)),
    h('td', { class: 'muted col-source' }, r.source === 'llm' ? 'LLM' : 'user'),
    h('td', {}, lock),
    h(
      'td',
      { class: 'col-actions' },
      button('Edit', { testid: 'edit-word', secondary: true, attrs: { title: 'Edit this word' }, on: { click: startEdit } }),
      button('Delete', {
        testid: 'delete-word',
        secondary: true,
        attrs: { title: 'Delete this word' },
        on: { click: () => send({ type: 'edit', edit: { op: 'delete', list, group, index: r.index, text: r.text } }) },
      }),
    ),
  );
}

// ---- Setup

function renderSetup(): void {
  const parts: Node[] = [];
  if (doc && !doc.ok) parts.push(h('div', { class: 'banner error' }, doc.error));
  if (doc?.ok) {
    parts.push(
      h('h2', {}, 'Models and data'),
      h('p', { class: 'muted hint' }, 'Paths are relative to the experiment file. Changes edit the JSON document (undo with Ctrl+Z).'),
    );
    const grid = h('div', { class: 'setup-grid' });
    for (const f of doc.setup) grid.append(...setupField(f));
    parts.push(grid, h('h2', {}, 'Options'), setupOptions(doc.options));
  }
  const checksHead = h(
    'div',
    { class: 'group-head' },
    h('h2', {}, 'Checks'),
    button('Check again', {
      testid: 'check-setup',
      secondary: true,
      disabled: !trusted,
      on: { click: () => send({ type: 'checkSetup' }) },
    }),
  );
  parts.push(checksHead, h('p', { class: 'muted hint' }, 'Run against the saved file.'));
  if (setup.error) parts.push(h('div', { class: 'banner warn', testid: 'setup-error' }, setup.error));
  else if (!setup.checks) parts.push(h('p', { class: 'muted' }, 'Checking…'));
  else {
    const list = h('ul', { class: 'checks' });
    for (const c of setup.checks) {
      const icon = c.status === 'ok' ? '✓' : c.status === 'warn' ? '!' : '✗';
      list.appendChild(
        h(
          'li',
          { testid: 'setup-check', class: `check ${c.status}`, attrs: { 'data-status': c.status, 'data-check': c.id } },
          h('span', { class: 'check-icon', attrs: { 'aria-hidden': 'true' } }, icon),
          h('span', { class: 'check-label' }, c.label),
          h('span', { class: 'check-msg' }, c.message),
        ),
      );
    }
    parts.push(list);
  }
  if (doc?.ok && doc.problems) parts.push(h('h2', {}, 'File problems'), h('pre', { class: 'problems' }, doc.problems));
  replaceChildren(setupPanel, ...parts);
}

function setupField(f: SetupFieldView): HTMLElement[] {
  const input = h('input', {
    class: 'text-input',
    testid: 'setup-path',
    attrs: {
      'data-field': f.id,
      placeholder:
        f.id === 'val' || f.id === 'test'
          ? 'image list with group labels'
          : f.id === 'captions'
            ? 'image-caption pairs for the modality gap'
            : 'required',
      'aria-label': f.label,
    },
    props: { value: f.value },
    on: {
      change: () => {
        const v = input.value.trim();
        if (v && v !== f.value) send({ type: 'setPath', field: f.id, value: v });
      },
    },
  });
  return [
    h('label', { class: 'setup-label' }, f.label, f.optional ? h('span', { class: 'muted' }, ' (optional)') : null),
    input,
    button(f.kind === 'folder' ? 'Choose folder…' : 'Choose file…', {
      testid: 'pick-path',
      secondary: true,
      attrs: { 'data-field': f.id },
      on: { click: () => send({ type: 'pickPath', field: f.id }) },
    }),
  ];
}

const VARIANT_HINT: Record<string, string> = {
  fp32: 'full precision',
  fp16: 'half precision weights',
  quantized: '8-bit, dynamic quantisation',
  int8: '8-bit',
  uint8: '8-bit unsigned',
  q4: '4-bit',
  q4f16: '4-bit, fp16',
  bnb4: '4-bit (bitsandbytes)',
};

function select(
  testid: string,
  label: string,
  current: string,
  choices: { value: string; label: string; title?: string }[],
  onPick: (value: string) => void,
): HTMLSelectElement {
  const el = h('select', { class: 'text-input select', testid, attrs: { 'aria-label': label } });
  for (const c of choices)
    el.appendChild(h('option', { attrs: { title: c.title }, props: { value: c.value, selected: c.value === current } }, c.label));
  el.addEventListener('change', () => {
    if (el.value !== current) onPick(el.value);
  });
  return el;
}

/** The CLIP variant (from the folder's files) and the classifier's resize filter, each one edit of the document. */
function setupOptions(options: { clipVariant: string; resample: string }): HTMLElement {
  const grid = h('div', { class: 'setup-grid' });
  const offered = clipVariants.variants ?? [];
  const variantChoices = [
    {
      value: 'auto',
      label: offered.length ? `auto (${offered[0].variant}, the most precise here)` : 'auto (the most precise one present)',
    },
    ...offered.map((v) => ({
      value: v.variant,
      label: `${v.variant} (${VARIANT_HINT[v.variant] ?? v.variant})`,
      title: v.layout === 'single' ? `${v.textModel}: both towers in one file` : `${v.textModel} + ${v.visionModel}`,
    })),
  ];
  if (!variantChoices.some((c) => c.value === options.clipVariant))
    variantChoices.push({ value: options.clipVariant, label: `${options.clipVariant} (not in the CLIP folder)` });
  const set = (o: SetupOption) => send({ type: 'setOption', set: o });
  const chosen = options.clipVariant === 'auto' ? offered[0] : offered.find((v) => v.variant === options.clipVariant);
  const loads = chosen ? `loads ${chosen.layout === 'single' ? chosen.textModel : `${chosen.textModel} + ${chosen.visionModel}`}` : '';
  const variantHint = clipVariants.error
    ? clipVariants.error
    : clipVariants.variants === null
      ? 'The variants show once the CLIP folder has been read.'
      : offered.length
        ? `${offered.length} variant${offered.length === 1 ? '' : 's'} in the CLIP folder${loads ? `; ${loads}` : ''}.`
        : 'No CLIP model in the folder: choose the CLIP folder above.';
  grid.append(
    h('label', { class: 'setup-label' }, 'CLIP variant'),
    select('clip-variant', 'CLIP variant', options.clipVariant, variantChoices, (v) =>
      set({ option: 'clipVariant', value: v as Extract<SetupOption, { option: 'clipVariant' }>['value'] }),
    ),
    h('span', { class: 'muted hint', testid: 'clip-variant-hint' }, variantHint),
    h('label', { class: 'setup-label' }, 'Classifier resize filter'),
    select(
      'resample',
      'Classifier resize filter',
      options.resample,
      [
        { value: 'bicubic', label: 'bicubic (timm, CLIP)' },
        { value: 'bilinear', label: 'bilinear (torchvision)' },
      ],
      (v) => set({ option: 'resample', value: v as 'bicubic' | 'bilinear' }),
    ),
    h('span', { class: 'muted hint' }, 'Use the filter the classifier was trained with (preprocessing.resample).'),
  );
  return grid;
}

// ---- Results

/** The heads a run reports, in the order the table and the chart show them. */
function headsOf(m: NonNullable<ResultView['metrics']>): { name: string; cls: string; metrics: HeadMetricsView }[] {
  return [
    { name: 'ERM (as given)', cls: 'bar-erm', metrics: m.erm },
    { name: 'TLDR head', cls: 'bar-tldr', metrics: m.tldr },
    ...(m.dfr ? [{ name: m.dfrGroups === 'pseudo-groups' ? 'DFR (pseudo-groups)' : 'DFR reference', cls: 'bar-dfr', metrics: m.dfr }] : []),
    ...(m.clipZeroShot ? [{ name: 'CLIP zero-shot', cls: 'bar-clip', metrics: m.clipZeroShot }] : []),
  ];
}

function renderResults(): void {
  const startBtn = button('Start retraining', { testid: 'start-run', disabled: !trusted, on: { click: () => send({ type: 'startRun' }) } });
  if (!results) {
    replaceChildren(
      resultsPanel,
      h('p', { class: 'muted' }, 'No run yet. Score the words, then start retraining; the per-group accuracy of the last run shows here.'),
      startBtn,
    );
    return;
  }
  const r = results;
  const parts: Node[] = [
    h(
      'div',
      { class: 'group-head' },
      h('h2', {}, `Run ${r.runId}`),
      h('span', { class: `status ${r.status}`, testid: 'run-status' }, r.status),
      r.split ? h('span', { class: 'muted' }, `${r.split} split`) : null,
    ),
  ];
  if (r.error) parts.push(h('div', { class: 'banner error' }, r.error));
  for (const w of r.warnings ?? [])
    parts.push(
      h(
        'div',
        { class: 'banner warn', testid: 'run-warning', attrs: { 'data-code': w.code } },
        h('strong', {}, w.code === 'collapsed-head' ? 'The new head collapsed. ' : 'Warning. '),
        `${w.message} `,
        h('span', { class: 'fix' }, w.fix),
      ),
    );
  if (r.selection) {
    const sel = r.selection;
    parts.push(
      h(
        'p',
        { class: 'muted', testid: 'run-selection', attrs: { 'data-mode': sel.mode } },
        `Chosen by ${sel.mode === 'none' ? 'nothing' : sel.on} (${sel.reason}): lambda ${sel.chosen.lambda}, weight decay ${sel.chosen.weightDecay}.`,
        sel.pseudoAgreement !== undefined ? ` CLIP's pseudo spurious labels agree with val's on ${pct(sel.pseudoAgreement)} of rows.` : '',
      ),
    );
  }
  const m = r.metrics;
  if (m) {
    const heads = headsOf(m);
    const key = (g: { label: string; spurious: string }) => `${g.label}\u0000${g.spurious}`;
    const byHead = heads.map((hd) => new Map(hd.metrics.groups.map((g) => [key(g), g])));
    const body = h('tbody', {});
    for (const g of m.erm.groups) {
      body.appendChild(
        h(
          'tr',
          { testid: 'result-row', attrs: { 'data-group': `${g.label}/${g.spurious}` } },
          h('th', { attrs: { scope: 'row' } }, `${g.label} on ${g.spurious}`),
          h('td', { class: 'num' }, String(g.n)),
          ...byHead.map((groups) => h('td', { class: 'num' }, pct(groups.get(key(g))?.accuracy))),
        ),
      );
    }
    const summaryRow = (testid: string, label: string, pick: (x: HeadMetricsView) => number, cls?: string) =>
      h(
        'tr',
        { testid, ...(cls ? { class: cls } : {}) },
        h('th', { attrs: { scope: 'row' } }, label),
        h('td', {}),
        ...heads.map((hd) => h('td', { class: 'num' }, pct(pick(hd.metrics)))),
      );
    const foot = h(
      'tbody',
      { class: 'summary-rows' },
      summaryRow('result-worst', 'Worst group', (x) => x.worstGroup, 'strong'),
      summaryRow(
        'result-average',
        m.erm.averageOver === 'train-mix' ? 'Average (train mix)' : 'Average (this split\u2019s mix)',
        (x) => x.average,
      ),
      summaryRow('result-class-balanced', 'Class-balanced', (x) => x.classBalanced),
    );
    parts.push(
      h(
        'table',
        { testid: 'results-table', class: 'results' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'Group'), h('th', { class: 'num' }, 'n'), ...heads.map((hd) => h('th', { class: 'num' }, hd.name))),
        ),
        body,
        foot,
      ),
      chart(m),
    );
  } else {
    parts.push(h('p', { class: 'muted' }, 'This run has no metrics.'));
  }
  if (r.gallery?.groups.some((g) => g.images.length)) parts.push(resultsGallery(r.gallery));
  parts.push(
    h(
      'div',
      { class: 'toolbar' },
      button('Open report.md', {
        testid: 'open-report',
        secondary: true,
        disabled: !r.hasReport,
        on: { click: () => send({ type: 'openArtifact', what: 'report', runId: r.runId }) },
      }),
      button('Show exported model', {
        testid: 'open-model',
        secondary: true,
        disabled: !r.hasModel,
        on: { click: () => send({ type: 'openArtifact', what: 'model', runId: r.runId }) },
      }),
      startBtn,
    ),
  );
  replaceChildren(resultsPanel, ...parts);
}

/** Per group, a few images of the headline split with both heads' predictions; changed predictions first and marked. */
function resultsGallery(g: NonNullable<ResultView['gallery']>): HTMLElement {
  const verdict = (predicted: string, truth: string) => (predicted === truth ? 'right' : 'wrong');
  const pred = (head: string, predicted: string, truth: string) =>
    h('span', { class: `pred ${verdict(predicted, truth)}`, attrs: { title: `${head} is ${verdict(predicted, truth)}` } }, predicted);
  const change = (im: { label: string; erm: string; tldr: string }) =>
    im.erm === im.tldr ? undefined : im.tldr === im.label ? 'fixed' : im.erm === im.label ? 'broken' : 'changed';
  return h(
    'section',
    { testid: 'results-gallery', class: 'results-gallery' },
    h('h2', {}, 'Per-group examples'),
    h('p', { class: 'muted' }, `A few ${g.split} images of each group, those whose prediction changed first. Green: right, red: wrong.`),
    ...g.groups.map((group) =>
      h(
        'div',
        { class: 'gallery-group', testid: 'gallery-group', attrs: { 'data-group': `${group.label}/${group.spurious}` } },
        h('h3', {}, `${group.label} on ${group.spurious} `, h('span', { class: 'muted' }, `(${group.changed} of ${group.n} changed)`)),
        group.images.length
          ? h(
              'div',
              { class: 'thumbs' },
              ...group.images.map((im) => {
                const c = change(im);
                return h(
                  'figure',
                  { class: c ? `thumb changed ${c}` : 'thumb', testid: 'gallery-thumb', attrs: { 'data-change': c ?? 'same' } },
                  h('img', {
                    attrs: { src: im.src, alt: im.name, title: `${im.name}: ${im.label}`, width: '96', height: '96' },
                  }),
                  h('figcaption', {}, 'ERM: ', pred('ERM', im.erm, im.label), ' / TLDR: ', pred('TLDR', im.tldr, im.label)),
                  c ? h('span', { class: `badge change ${c}` }, c) : null,
                );
              }),
            )
          : h('p', { class: 'muted' }, 'No images in this group.'),
      ),
    ),
  );
}

/** Horizontal bars per group, one per head, 0-100%. */
function chart(m: NonNullable<ResultView['metrics']>): SVGElement {
  const heads = headsOf(m);
  const labelW = 170;
  const barW = 320;
  const barH = 12;
  const groupH = heads.length * (barH + 2) + 12;
  const top = 24;
  const height = top + m.erm.groups.length * groupH + 8;
  const width = Math.max(labelW + barW + 70, labelW + heads.length * 130);
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    class: 'chart',
    'data-testid': 'results-chart',
  });
  root.appendChild(svg('title', {}, 'Per-group accuracy by head'));
  // legend
  heads.forEach((hd, i) => {
    root.appendChild(svg('rect', { x: labelW + i * 130, y: 4, width: 10, height: 10, class: hd.cls }));
    root.appendChild(svg('text', { x: labelW + i * 130 + 14, y: 13, class: 'chart-text' }, hd.name));
  });
  m.erm.groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    root.appendChild(svg('text', { x: 0, y: y0 + groupH / 2, class: 'chart-text' }, `${g.label} on ${g.spurious}`));
    heads.forEach((hd, hi) => {
      const acc = hd.metrics.groups.find((x) => x.label === g.label && x.spurious === g.spurious)?.accuracy ?? 0;
      const y = y0 + hi * (barH + 2);
      root.appendChild(svg('rect', { x: labelW, y, width: barW, height: barH, class: 'bar-track' }));
      root.appendChild(
        svg(
          'rect',
          { x: labelW, y, width: Math.max(0, Math.min(1, acc)) * barW, height: barH, class: hd.cls },
          svg('title', {}, `${hd.name}: ${pct(acc)}`),
        ),
      );
      root.appendChild(svg('text', { x: labelW + barW + 6, y: y + barH - 2, class: 'chart-text small' }, pct(acc)));
    });
  });
  return root;
}

// ---- start
renderTrust();
renderJob();
renderWords();
renderSetup();
renderResults();
send({ type: 'ready' });
