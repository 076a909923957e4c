// report.md: what a reviewer needs on one page: per-group accuracy of every head (the model as
// given, the TLDR head, the DFR reference, CLIP zero-shot), how the candidate was chosen, what
// went wrong, and the words that failed validation.
import * as path from 'node:path';
import type { HeadMetrics, SplitMetrics, WordScore } from '../../protocol/events';
import type { LoadedExperiment } from '../../experiment';
import type { RunJson } from '../../protocol/runRecord';

const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)}%`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The heads of a split's metrics, with the names every table uses. */
export function headsOf(m: SplitMetrics): [string, HeadMetrics][] {
  const heads: [string, HeadMetrics | undefined][] = [
    ['ERM (model as given)', m.erm],
    ['TLDR head', m.tldr],
    [`DFR reference${m.dfrGroups === 'pseudo-groups' ? ' (pseudo-groups)' : ''}`, m.dfr],
    ['CLIP zero-shot', m.clipZeroShot],
  ];
  return heads.filter((h): h is [string, HeadMetrics] => !!h[1]);
}

export function metricsTable(m: SplitMetrics): string {
  const shown = headsOf(m);
  const lines = [`| group | n | ${shown.map((h) => h[0]).join(' | ')} |`, `|---|---:|${shown.map(() => '---:|').join('')}`];
  m.erm.groups.forEach((g, i) =>
    lines.push(`| ${cell(g.label)} / ${cell(g.spurious)} | ${g.n} | ${shown.map((h) => pct(h[1].groups[i].accuracy)).join(' | ')} |`),
  );
  lines.push(`| **worst group** | | ${shown.map((h) => `**${pct(h[1].worstGroup)}**`).join(' | ')} |`);
  const mix = m.erm.averageOver === 'train-mix' ? 'average (train mix)' : "average (this split's mix: train has no spurious labels)";
  lines.push(`| ${mix} | | ${shown.map((h) => pct(h[1].average)).join(' | ')} |`);
  lines.push(`| class-balanced | | ${shown.map((h) => pct(h[1].classBalanced)).join(' | ')} |`);
  return lines.join('\n');
}

/** How the run chose its candidate, in one or two sentences. */
export function selectionSummary(run: Pick<RunJson, 'selection'>): string | undefined {
  const sel = run.selection;
  if (!sel) return undefined;
  const parts = [
    `Model selection: ${sel.mode === 'none' ? 'none' : sel.on} (${sel.reason}); chosen lambda ${sel.chosen.lambda}, weight decay ${sel.chosen.weightDecay}.`,
  ];
  const p = sel.pseudoLabels;
  if (p?.agreement !== undefined)
    parts.push(
      `CLIP's pseudo spurious labels agree with val's on ${pct(p.agreement)} of rows (${(p.perValue ?? []).map((v) => `${v.value} ${pct(v.agreement)}`).join(', ')}).`,
    );
  return parts.join(' ');
}

export function renderReport(run: RunJson, loaded: LoadedExperiment, scores: WordScore[]): string {
  const out: string[] = [
    `# TLDR run ${run.runId}`,
    '',
    `Experiment: \`${path.basename(loaded.file)}\`  `,
    `Seed ${run.seed}, config hash \`${run.configHash.slice(0, 12)}\`, ${Object.entries(run.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
  ];
  for (const w of run.warnings ?? []) out.push(`> **Warning (${w.code}).** ${w.message} ${w.fix}`, '');
  for (const split of ['test', 'val'] as const) {
    const m = run.metrics?.[split];
    if (!m) continue;
    out.push(`## ${split}`, '', metricsTable(m), '');
  }
  const sel = selectionSummary(run);
  if (sel) out.push(sel, '');
  if (run.dfr)
    out.push(
      `DFR reference: L1 logistic regression on ${run.dfr.groups === 'val-groups' ? "val's groups" : "CLIP's pseudo-groups of val"}, C ${run.dfr.chosenC} chosen on val halves, averaged over ${run.dfr.finalSubsets} group-balanced subsets of ${run.dfr.subsetSize} rows.`,
      '',
    );
  if (run.gap)
    out.push(
      `Modality gap: |g| = ${run.gap.norm.toFixed(4)} from ${run.gap.pairs} ${run.gap.source === 'captions' ? 'caption pairs' : 'training images with class prompts'}. Projector ReLU: ${run.relu ? 'on' : 'off'}.`,
      '',
    );
  const ab = run.settings?.ablations;
  const on = ab ? Object.entries(ab).filter(([, v]) => v) : [];
  if (on.length) out.push(`Ablations: ${on.map(([k]) => k).join(', ')}.`, '');
  const failed = scores.filter((s) => !s.pass);
  out.push(`## Words`, '', `${scores.length - failed.length} of ${scores.length} words passed validation.`, '');
  if (failed.length) {
    out.push('| list | group | word | CLIP margin | logit margin | why |', '|---|---|---|---:|---:|---|');
    for (const s of failed)
      out.push(
        `| ${s.list} | ${cell(s.group)} | ${cell(s.text)} | ${s.clipMargin.toFixed(4)} | ${s.logitMargin === undefined ? '–' : s.logitMargin.toFixed(3)} | ${cell(s.reason ?? '')} |`,
      );
    out.push('');
  }
  out.push(
    'Artifacts: `model.debiased.onnx` (your classifier with the new last layer), `head.safetensors`, `projector.safetensors`, `train-embeddings.safetensors`, `scores.json`, `run.json`.',
    '',
  );
  return out.join('\n');
}
