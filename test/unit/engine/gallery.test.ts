// The Results tab's per-group examples: a few images per group of the headline split, rows where
// ERM and TLDR disagree first, drawn with the run's seed; precomputed embeddings give none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickGallery, type GalleryInput } from '../../../src/engine/steps/gallery';
import { runJsonSchema } from '../../../src/protocol/runRecord';

const i32 = (xs: number[]) => Int32Array.from(xs);

/** 2 classes x 2 spurious values, 10 rows per group; in group (0, 1) rows 0..2 of it change prediction */
function input(over: Partial<GalleryInput> = {}): GalleryInput {
  const labels: number[] = [];
  const spurious: number[] = [];
  const erm: number[] = [];
  const tldr: number[] = [];
  for (let c = 0; c < 2; c++)
    for (let s = 0; s < 2; s++)
      for (let k = 0; k < 10; k++) {
        labels.push(c);
        spurious.push(s);
        const changes = c === 0 && s === 1 && k < 3;
        erm.push(changes ? 1 : c);
        tldr.push(c);
      }
  return {
    split: 'test',
    paths: labels.map((_, i) => `/data/test/img${i}.png`),
    labels: i32(labels),
    spurious: i32(spurious),
    erm: i32(erm),
    tldr: i32(tldr),
    classes: ['landbird', 'waterbird'],
    spuriousValues: ['land', 'water'],
    seed: 7,
    perGroup: 4,
    ...over,
  };
}

test('every group gets up to perGroup images with its own rows, class names and both predictions', () => {
  const g = pickGallery(input())!;
  assert.equal(g.split, 'test');
  assert.equal(g.perGroup, 4);
  assert.deepEqual(
    g.groups.map((x) => [x.label, x.spurious, x.n, x.images.length]),
    [
      ['landbird', 'land', 10, 4],
      ['landbird', 'water', 10, 4],
      ['waterbird', 'land', 10, 4],
      ['waterbird', 'water', 10, 4],
    ],
  );
  const inp = input();
  for (const [gi, group] of g.groups.entries()) {
    for (const im of group.images) {
      const row = Number(/img(\d+)/.exec(im.path)![1]);
      assert.equal(Math.floor(row / 10), gi, `${im.path} belongs to group ${gi}`);
      assert.equal(im.label, group.label);
      assert.equal(im.erm, inp.classes[inp.erm[row]]);
      assert.equal(im.tldr, inp.classes[inp.tldr[row]]);
    }
    assert.equal(new Set(group.images.map((im) => im.path)).size, group.images.length, 'no image twice');
  }
  // the record validates as run.json's field
  const parsed = runJsonSchema.shape.gallery.safeParse(g);
  assert.ok(parsed.success);
});

test('rows whose predictions changed come first; a group with fewer rows than perGroup gives them all', () => {
  const g = pickGallery(input())!;
  const changedGroup = g.groups[1];
  assert.equal(changedGroup.changed, 3);
  assert.deepEqual(
    changedGroup.images.slice(0, 3).map((im) => im.erm !== im.tldr),
    [true, true, true],
  );
  assert.equal(changedGroup.images[3].erm, changedGroup.images[3].tldr);
  const few = pickGallery(input({ perGroup: 20 }))!;
  assert.ok(few.groups.every((x) => x.images.length === 10));
  assert.ok(few.groups[1].images.slice(0, 3).every((im) => im.erm !== im.tldr));
});

test('the draw is deterministic for a seed and follows it', () => {
  const paths = (seed: number) => pickGallery(input({ seed }))!.groups.flatMap((x) => x.images.map((im) => im.path));
  assert.deepEqual(paths(7), paths(7));
  assert.notDeepEqual(paths(7), paths(8));
});

test('no paths (precomputed embeddings), no rows or no spurious labels: no gallery', () => {
  assert.equal(pickGallery(input({ paths: undefined })), undefined);
  const none = input();
  assert.equal(pickGallery({ ...none, spurious: new Int32Array(none.labels.length).fill(-1) }), undefined);
  assert.equal(pickGallery({ ...none, paths: [], labels: i32([]), spurious: i32([]), erm: i32([]), tldr: i32([]) }), undefined);
});

test('rows without a spurious label belong to no group; an empty group has no images', () => {
  const base = input();
  const spurious = Int32Array.from(base.spurious, (s, i) => (i < 10 ? -1 : s));
  const g = pickGallery({ ...base, spurious })!;
  assert.equal(g.groups[0].n, 0);
  assert.deepEqual(g.groups[0].images, []);
  assert.equal(g.groups[1].images.length, 4);
});

test('old run.json files without a gallery still parse', () => {
  const old = {
    runId: 'r',
    experiment: '/x/e.json',
    configHash: 'h',
    seed: 0,
    versions: {},
    startedAt: 't',
    pid: 1,
    status: 'succeeded',
  };
  const r = runJsonSchema.safeParse(old);
  assert.ok(r.success);
  assert.equal(r.success && r.data.gallery, undefined);
});
