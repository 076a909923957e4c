// The Discover tab: keywords ranked per class by the B2T score (what the classifier's val errors
// have in common), a gallery of the images behind a keyword, and a grouping of picked keywords
// into values of one spurious attribute that the host writes into the experiment. Every string
// (keywords from an LLM or a file, image names) is rendered as text.
import type { DiscoveryView, WebviewToHost } from '../src/protocol/webview';
import { button, h, replaceChildren } from './dom';

interface GroupValue {
  name: string;
  /** comma-separated, as the user edits them */
  words: string;
}

export interface DiscoverTab {
  panel: HTMLElement;
  setDiscovery(d: DiscoveryView | null): void;
  /** the document's spurious attribute, to start the grouping from */
  setDocument(spuriousName: string, values: string[], ok: boolean): void;
  setBusy(busy: boolean, trusted: boolean): void;
}

/** rows shown per class until "Show all" */
const SHOWN = 15;
const f4 = (v: number) => (v >= 0 ? '+' : '') + v.toFixed(4);
const splitWords = (s: string) =>
  s
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);

export function createDiscoverTab(send: (m: WebviewToHost) => void): DiscoverTab {
  const panel = h('div', { class: 'panel-body', testid: 'discover-panel' });
  let discovery: DiscoveryView | null = null;
  let busy = false;
  let trusted = true;
  let docOk = false;
  let userWords = '';
  let selected: { cls: number; keyword: string } | null = null;
  const checked = new Set<string>();
  /** classes whose whole list is shown (the first SHOWN rows otherwise) */
  const expanded = new Set<number>();
  let groupName = '';
  let values: GroupValue[] = [];
  let groupingTouched = false;

  function render(): void {
    const parts: Node[] = [];
    const wordsInput = h('input', {
      class: 'text-input',
      testid: 'discover-words',
      attrs: { placeholder: 'your own keywords, comma-separated (optional)', 'aria-label': 'Your own keywords' },
      props: { value: userWords },
      on: { input: (e) => (userWords = (e.target as HTMLInputElement).value) },
    });
    parts.push(
      h(
        'p',
        { class: 'muted hint' },
        'Which concepts does the classifier lean on? For each class, every candidate keyword is scored by how much more CLIP matches it to the val images the classifier gets wrong than to those it gets right (B2T score; needs class labels on val only). An interval above 0 is a signal; one across 0 may be noise. Candidates: your words, the LLM (when an API key is set) and a built-in list of common visual concepts.',
      ),
      h(
        'div',
        { class: 'toolbar' },
        wordsInput,
        button('Discover', {
          testid: 'discover-run',
          disabled: busy || !trusted,
          attrs: { title: 'Rank candidate keywords by the classifier\u2019s val errors (in the background)' },
          on: { click: () => send({ type: 'discover', words: splitWords(userWords) }) },
        }),
      ),
    );
    if (!trusted) parts.push(h('div', { class: 'banner warn' }, 'Restricted Mode: discovery needs a trusted workspace.'));
    if (!discovery) {
      parts.push(h('p', { class: 'muted', testid: 'discover-empty' }, 'No discovery yet: press Discover.'));
      replaceChildren(panel, ...parts);
      return;
    }
    const d = discovery;
    const srcs = Object.entries(d.sources)
      .map(([k, n]) => `${n} ${k === 'builtin' ? 'built-in' : k === 'llm' ? 'LLM' : 'yours'}`)
      .join(', ');
    parts.push(
      h(
        'p',
        { class: 'muted', testid: 'discover-summary' },
        `${d.scored} keywords scored (${srcs}; ${d.skipped} unknown to CLIP's tokenizer), ${Math.round(d.level * 100)}% bootstrap intervals, ${d.seconds.toFixed(1)} s, ${new Date(d.createdAt).toLocaleString()}.`,
      ),
    );
    for (const w of d.warnings) parts.push(h('div', { class: 'banner warn' }, w));
    d.classes.forEach((c, ci) => parts.push(classSection(c, ci)));
    parts.push(gallery(d), groupingSection());
    replaceChildren(panel, ...parts);
  }

  function classSection(c: DiscoveryView['classes'][number], ci: number): HTMLElement {
    const head = h(
      'h2',
      {},
      `Class ${c.class}`,
      h('span', { class: 'muted' }, ` · ${c.misclassified} misclassified / ${c.correct} correct val images`),
    );
    if (c.note || c.keywords.length === 0)
      return h('section', { testid: 'discover-class' }, head, h('p', { class: 'muted' }, c.note ?? 'Nothing ranked.'));
    const shown = expanded.has(ci) ? c.keywords : c.keywords.slice(0, SHOWN);
    const rows = shown.map((k, rank) => {
      const isSel = selected?.cls === ci && selected.keyword === k.keyword;
      const box = h('vscode-checkbox', {
        testid: 'discover-check',
        attrs: { 'aria-label': `Pick ${k.keyword}` },
        props: { checked: checked.has(k.keyword) },
        on: {
          change: (e) => {
            const on = (e.target as HTMLInputElement).checked;
            if (on) checked.add(k.keyword);
            else checked.delete(k.keyword);
          },
        },
      });
      const signal = k.ci[0] > 0;
      return h(
        'tr',
        {
          testid: 'discover-row',
          class: `${isSel ? 'selected' : ''} ${signal ? '' : 'noise'}`,
          attrs: { 'data-keyword': k.keyword, 'data-class': c.class, 'aria-selected': String(isSel) },
          on: {
            click: (e) => {
              if ((e.target as HTMLElement).closest('vscode-checkbox')) return;
              selected = { cls: ci, keyword: k.keyword };
              render();
            },
          },
        },
        h('td', {}, box),
        h('td', { class: 'num muted' }, String(rank + 1)),
        h('td', { class: 'kw' }, h('button', { class: 'link', testid: 'discover-keyword' }, k.keyword)),
        h('td', { class: 'num' }, f4(k.score)),
        h('td', { class: 'num muted' }, `[${f4(k.ci[0])}, ${f4(k.ci[1])}]`),
        h('td', { class: 'muted' }, k.sources.map((s) => (s === 'builtin' ? 'built-in' : s === 'llm' ? 'LLM' : 'yours')).join(', ')),
      );
    });
    return h(
      'section',
      { testid: 'discover-class', attrs: { 'data-class': c.class } },
      head,
      h(
        'table',
        { class: 'discover', testid: 'discover-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, ''),
            h('th', {}, '#'),
            h('th', {}, 'keyword'),
            h('th', {}, 'score'),
            h('th', {}, `${Math.round((discovery?.level ?? 0.95) * 100)}% interval`),
            h('th', {}, 'from'),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
      c.keywords.length > SHOWN
        ? button(expanded.has(ci) ? `Show the top ${SHOWN}` : `Show all ${c.keywords.length}`, {
            testid: 'discover-more',
            secondary: true,
            on: {
              click: () => {
                if (expanded.has(ci)) expanded.delete(ci);
                else expanded.add(ci);
                render();
              },
            },
          })
        : null,
    );
  }

  function gallery(d: DiscoveryView): HTMLElement {
    const c = selected ? d.classes[selected.cls] : undefined;
    const k = c?.keywords.find((x) => x.keyword === selected!.keyword);
    if (!c || !k)
      return h(
        'section',
        { testid: 'discover-gallery' },
        h('h2', {}, 'Images'),
        h('p', { class: 'muted' }, 'Click a keyword to see the val images behind it.'),
      );
    const thumbs = (imgs: typeof k.misclassifiedImages, testid: string) =>
      h(
        'div',
        { class: 'thumbs', testid },
        ...imgs.map((im) =>
          h(
            'figure',
            { class: 'thumb' },
            h('img', { attrs: { src: im.src, alt: im.name, title: `${im.name}: predicted ${im.predicted}`, width: '96', height: '96' } }),
            h('figcaption', { class: 'muted' }, `→ ${im.predicted}`),
          ),
        ),
      );
    return h(
      'section',
      { testid: 'discover-gallery', attrs: { 'data-keyword': k.keyword } },
      h('h2', {}, `Images of ${c.class} that match "${k.keyword}" best`),
      h('h3', {}, `Misclassified (${c.misclassified} in val)`),
      thumbs(k.misclassifiedImages, 'gallery-misclassified'),
      h('h3', {}, `Correctly classified, for contrast (${c.correct} in val)`),
      thumbs(k.correctImages, 'gallery-correct'),
    );
  }

  function groupingSection(): HTMLElement {
    const rows = values.map((v, i) =>
      h(
        'div',
        { class: 'group-value', testid: 'group-value' },
        h('input', {
          class: 'text-input value-name',
          testid: 'group-value-name',
          attrs: { 'aria-label': `Value ${i + 1} name`, placeholder: 'value, e.g. water' },
          props: { value: v.name },
          on: { input: (e) => ((v.name = (e.target as HTMLInputElement).value), (groupingTouched = true)) },
        }),
        h('input', {
          class: 'text-input value-words',
          testid: 'group-value-words',
          attrs: { 'aria-label': `Value ${i + 1} keywords`, placeholder: 'keywords, comma-separated' },
          props: { value: v.words },
          on: { input: (e) => ((v.words = (e.target as HTMLInputElement).value), (groupingTouched = true)) },
        }),
        button('Add picked', {
          testid: 'group-add-picked',
          secondary: true,
          attrs: { title: 'Add the ticked keywords to this value' },
          on: {
            click: () => {
              const have = new Set(splitWords(v.words).map((w) => w.toLowerCase()));
              const add = [...checked].filter((w) => !have.has(w.toLowerCase()));
              v.words = [...splitWords(v.words), ...add].join(', ');
              checked.clear();
              groupingTouched = true;
              render();
            },
          },
        }),
        button('Remove', {
          secondary: true,
          on: {
            click: () => {
              values.splice(i, 1);
              groupingTouched = true;
              render();
            },
          },
        }),
      ),
    );
    return h(
      'section',
      { testid: 'discover-grouping' },
      h('h2', {}, 'From keywords to a task'),
      h(
        'p',
        { class: 'muted hint' },
        'Tick keywords, group them into the values of one spurious attribute, then write them into the experiment: task.spurious, one anchor prompt per value and the keywords as spurious words (an edit of the document; undo with Ctrl+Z). Then score the words and run.',
      ),
      h(
        'label',
        { class: 'grouping-name' },
        'Attribute ',
        h('input', {
          class: 'text-input',
          testid: 'group-name',
          attrs: { 'aria-label': 'Spurious attribute name', placeholder: 'e.g. background' },
          props: { value: groupName },
          on: { input: (e) => ((groupName = (e.target as HTMLInputElement).value), (groupingTouched = true)) },
        }),
      ),
      ...rows,
      h(
        'div',
        { class: 'toolbar' },
        button('Add value', {
          testid: 'group-add-value',
          secondary: true,
          on: {
            click: () => {
              values.push({ name: '', words: '' });
              groupingTouched = true;
              render();
            },
          },
        }),
        button('Write to experiment', {
          testid: 'group-write',
          disabled: !docOk,
          on: {
            click: () =>
              send({
                type: 'applyGrouping',
                grouping: { name: groupName, values: values.map((v) => ({ name: v.name, words: splitWords(v.words) })) },
              }),
          },
        }),
      ),
    );
  }

  return {
    panel,
    setDiscovery(d) {
      discovery = d;
      if (selected && !d?.classes[selected.cls]?.keywords.some((k) => k.keyword === selected!.keyword)) selected = null;
      render();
    },
    setDocument(spuriousName, vals, ok) {
      docOk = ok;
      if (!groupingTouched) {
        groupName = spuriousName;
        values = vals.map((name) => ({ name, words: '' }));
        while (values.length < 2) values.push({ name: '', words: '' });
      }
      render();
    },
    setBusy(b, t) {
      if (b === busy && t === trusted) return;
      busy = b;
      trusted = t;
      render();
    },
  };
}
