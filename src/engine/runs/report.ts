// report.md: what a reviewer needs on one page: per-group accuracy of the ERM head, the TLDR
// head and the DFR reference, the chosen settings, and the words that failed validation.
import * as path from 'node:path';
import type { HeadMetrics, SplitMetrics, WordScore } from '../../protocol/events';
import type { LoadedExperiment } from '../../experiment';
import type { RunJson } from '../../protocol/runRecord';

const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)}%`);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function metricsTable(m: SplitMetrics): string {
  const heads: [string, HeadMetrics | undefined][] = [
    ['ERM head', m.erm],
    ['TLDR head', m.tldr],
    ['DFR reference', m.dfr],
  ];
  const shown = heads.filter((h): h is [string, HeadMetrics] => !!h[1]);
  const lines = [`| group | n | ${shown.map((h) => h[0]).join(' | ')} |`, `|---|---:|${shown.map(() => '---:|').join('')}`];
  m.erm.groups.forEach((g, i) =>
    lines.push(`| ${cell(g.label)} / ${cell(g.spurious)} | ${g.n} | ${shown.map((h) => pct(h[1].groups[i].accuracy)).join(' | ')} |`),
  );
  lines.push(`| **worst group** | | ${shown.map((h) => `**${pct(h[1].worstGroup)}**`).join(' | ')} |`);
  lines.push(`| average (train mix) | | ${shown.map((h) => pct(h[1].average)).join(' | ')} |`);
  lines.push(`| class-balanced | | ${shown.map((h) => pct(h[1].classBalanced)).join(' | ')} |`);
  return lines.join('\n');
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
  for (const split of ['test', 'val'] as const) {
    const m = run.metrics?.[split];
    if (!m) continue;
    out.push(`## ${split}`, '', metricsTable(m), '');
  }
  if (run.gap)
    out.push(
      `Modality gap: |g| = ${run.gap.norm.toFixed(4)} from ${run.gap.pairs} ${run.gap.source === 'captions' ? 'caption pairs' : 'training images with class prompts'}. Projector ReLU: ${run.relu ? 'on' : 'off'}.`,
      '',
    );
  const sel = run.selection;
  if (sel) out.push(`Model selection: ${sel.on}; chosen lambda ${sel.chosen.lambda}, weight decay ${sel.chosen.weightDecay}.`, '');
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
