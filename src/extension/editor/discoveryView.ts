// The Discover tab's data from a discovery: the top keywords per class with their thumbnails as
// webview URIs, and the folder the webview may load them from. No 'vscode' import: unit-tested.
import * as path from 'node:path';
import type { Discovery } from '../../protocol/discover';
import type { DiscoveryView } from '../../protocol/webview';

/** keywords per class sent to the webview (the file keeps them all) */
export const VIEW_KEYWORDS = 40;

export function discoveryView(d: Discovery, toSrc: (file: string) => string, keywords = VIEW_KEYWORDS): DiscoveryView {
  const classNames = d.classes.map((c) => c.class);
  const image = (i: number) => {
    const im = d.images[i]!;
    return { src: toSrc(im.path), name: path.basename(im.path), predicted: classNames[im.predicted] ?? String(im.predicted) };
  };
  return {
    createdAt: d.createdAt,
    seconds: d.seconds,
    level: d.bootstrap.level,
    scored: d.classes[0]?.keywords.length ?? 0,
    skipped: d.skipped.length,
    sources: d.sources,
    warnings: d.warnings,
    classes: d.classes.map((c) => ({
      class: c.class,
      correct: c.correct,
      misclassified: c.misclassified,
      ...(c.note ? { note: c.note } : {}),
      keywords: c.keywords.slice(0, keywords).map((k) => ({
        keyword: k.keyword,
        sources: k.sources,
        score: k.score,
        ci: k.ci,
        misclassifiedImages: k.topMisclassified.map(image),
        correctImages: k.topCorrect.map(image),
      })),
    })),
  };
}

/** The deepest folder holding every image of the discovery: the one resource root thumbnails need. */
export function imagesRoot(d: Discovery): string | undefined {
  if (d.images.length === 0) return undefined;
  let root = path.dirname(d.images[0]!.path);
  for (const im of d.images) {
    while (!isInside(im.path, root)) {
      const up = path.dirname(root);
      if (up === root) return root;
      root = up;
    }
  }
  return root;
}

export function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel);
}
