// DOM building without innerHTML: every string becomes a Text node or a property, so a word
// like <img src=x onerror=...> is shown as the characters it is.

type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  /** attributes (data-*, aria-*, title...) set with setAttribute */
  attrs?: Record<string, string | undefined>;
  /** properties set directly (value, checked, disabled...) */
  props?: Record<string, unknown>;
  on?: { [K in keyof HTMLElementEventMap]?: (e: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, p?: Props, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, p?: Props, ...children: Child[]): HTMLElement;
export function h(tag: string, p: Props = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (p.class) el.className = p.class;
  if (p.testid) el.setAttribute('data-testid', p.testid);
  for (const [k, v] of Object.entries(p.attrs ?? {})) if (v !== undefined) el.setAttribute(k, v);
  for (const [k, v] of Object.entries(p.props ?? {})) (el as unknown as Record<string, unknown>)[k] = v;
  for (const [k, fn] of Object.entries(p.on ?? {})) if (fn) el.addEventListener(k, fn as EventListener);
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

export function button(label: string, p: Props & { secondary?: boolean; disabled?: boolean } = {}): HTMLElement {
  return h('vscode-button', { ...p, props: { ...(p.props ?? {}), secondary: !!p.secondary, disabled: !!p.disabled } }, label);
}

/** Replaces an element's content. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
