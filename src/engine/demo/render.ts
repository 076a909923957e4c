// Procedural drawing of one demo image (a scene with an object on it) into a float RGB buffer.
// Pure functions of (spec, rng): the generator derives one rng per image, so every image is
// reproducible on its own and the order in which images are drawn does not matter.
import type { Rng } from '../math/rng';
import type { KindSpec, SceneSpec, WorldSpec } from './spec';

export type Rgb = [number, number, number];

export function hexToRgb(hex: string): Rgb {
  const n = parseInt(hex.slice(1), 16);
  return [((n >> 16) & 255) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
// Per-pixel colour math returns slots of a small ring instead of fresh arrays: drawing ~5000
// images allocates no garbage. A result is only read before RING more results are made.
const RING = 16;
const ring: Rgb[] = Array.from({ length: RING }, () => [0, 0, 0] as Rgb);
let slot = 0;
function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const o = ring[(slot = (slot + 1) % RING)];
  o[0] = a[0] + (b[0] - a[0]) * t;
  o[1] = a[1] + (b[1] - a[1]) * t;
  o[2] = a[2] + (b[2] - a[2]) * t;
  return o;
}
function shade(c: Rgb, f: number): Rgb {
  const o = ring[(slot = (slot + 1) % RING)];
  o[0] = c[0] * f;
  o[1] = c[1] * f;
  o[2] = c[2] * f;
  return o;
}

function jitter(c: Rgb, rng: Rng, amount: number): Rgb {
  return [clamp01(c[0] + rng.normal() * amount), clamp01(c[1] + rng.normal() * amount), clamp01(c[2] + rng.normal() * amount)];
}

/** Smooth value noise on a coarse random lattice (cells x cells), sampled at pixel resolution. */
function valueNoise(size: number, cells: number, rng: Rng): Float32Array {
  const lattice = new Float32Array((cells + 1) * (cells + 1));
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next() * 2 - 1;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = (y / size) * cells;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const sy = ty * ty * (3 - 2 * ty);
    for (let x = 0; x < size; x++) {
      const fx = (x / size) * cells;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const sx = tx * tx * (3 - 2 * tx);
      const a = lattice[y0 * (cells + 1) + x0];
      const b = lattice[y0 * (cells + 1) + x0 + 1];
      const c = lattice[(y0 + 1) * (cells + 1) + x0];
      const d = lattice[(y0 + 1) * (cells + 1) + x0 + 1];
      out[y * size + x] = (a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy;
    }
  }
  return out;
}

type Painter = (x: number, y: number) => Rgb;

/** A scene painter: maps a pixel (in units of the image size, 0..1) to a colour. */
function scenePainter(scene: SceneSpec, rng: Rng, jitterAmount: number): Painter {
  const col = {
    sky: jitter(hexToRgb(scene.colors.sky), rng, jitterAmount),
    base: jitter(hexToRgb(scene.colors.base), rng, jitterAmount),
    alt: jitter(hexToRgb(scene.colors.alt), rng, jitterAmount),
    accent: jitter(hexToRgb(scene.colors.accent), rng, jitterAmount),
  };
  const horizon = 0.15 + rng.next() * 0.2;
  const phase = rng.next() * Math.PI * 2;
  const freq = 0.7 + rng.next() * 0.8;
  const sky = (y: number, x: number) => mix(col.sky, shade(col.sky, 1.1), y / horizon + 0.1 * Math.sin(x * 6 + phase));
  switch (scene.texture) {
    case 'trees': {
      const trunks = Array.from({ length: 3 + rng.int(4) }, () => ({ x: rng.next(), w: 0.02 + rng.next() * 0.03 }));
      const crowns = Array.from({ length: 10 + rng.int(8) }, () => ({
        x: rng.next(),
        y: rng.next() * 0.55,
        r: 0.08 + rng.next() * 0.1,
        light: rng.next(),
      }));
      return (x, y) => {
        for (const c of crowns) if ((x - c.x) ** 2 + (y - c.y) ** 2 < c.r * c.r) return mix(col.alt, col.base, c.light * 0.5);
        for (const t of trunks) if (Math.abs(x - t.x) < t.w) return col.accent;
        return y < horizon ? sky(y, x) : mix(col.base, col.alt, 0.3 + 0.2 * Math.sin(x * 40 + y * 13));
      };
    }
    case 'grass':
      return (x, y) => {
        if (y < horizon) return sky(y, x);
        const blade = Math.sin(x * 90 * freq + Math.sin(y * 30) * 2 + phase) > 0.6;
        return blade ? mix(col.alt, col.accent, y) : mix(col.base, col.alt, (y - horizon) * 0.5);
      };
    case 'dunes':
      return (x, y) => {
        if (y < horizon) return sky(y, x);
        const s = Math.sin(y * 25 * freq + Math.sin(x * 5 + phase) * 2.5);
        return s > 0.3 ? col.alt : s < -0.85 ? col.accent : col.base;
      };
    case 'stalks': {
      const stalks = Array.from({ length: 5 + rng.int(4) }, () => ({ x: rng.next(), w: 0.025 + rng.next() * 0.03, node: rng.next() }));
      return (x, y) => {
        for (const s of stalks) {
          if (Math.abs(x - s.x) < s.w) return ((y + s.node) * 6) % 1 < 0.08 ? col.accent : col.alt;
        }
        return mix(col.base, col.sky, 0.3 + 0.3 * Math.sin(x * 20 + phase));
      };
    }
    case 'waves':
      return (x, y) => {
        if (y < horizon * 0.7) return sky(y, x);
        const w = Math.sin(y * 60 * freq + Math.sin(x * 12 + phase) * 1.5);
        return w > 0.75 ? col.alt : w < -0.9 ? col.accent : mix(col.base, shade(col.base, 0.75), y);
      };
    case 'ripples': {
      const cx = rng.next();
      const cy = 0.4 + rng.next() * 0.5;
      return (x, y) => {
        if (y < horizon * 0.6) return col.accent;
        const r = Math.sqrt((x - cx) ** 2 + ((y - cy) * 1.8) ** 2);
        return Math.sin(r * 70 * freq + phase) > 0.8 ? col.alt : mix(col.base, col.sky, 0.15 + 0.15 * Math.sin(x * 3));
      };
    }
    case 'flow': {
      const slope = (rng.next() - 0.5) * 0.8;
      const width = 0.3 + rng.next() * 0.2;
      return (x, y) => {
        const d = y - 0.5 - slope * (x - 0.5);
        if (Math.abs(d) > width) return mix(col.accent, col.sky, 0.2 + 0.2 * Math.sin(x * 30 + y * 30));
        const streak = Math.sin((x + slope * y) * 45 * freq + Math.sin(d * 20) + phase) > 0.7;
        return streak ? col.alt : col.base;
      };
    }
    case 'reeds': {
      const reeds = Array.from({ length: 8 + rng.int(8) }, () => ({
        x: rng.next(),
        top: 0.3 + rng.next() * 0.5,
        w: 0.008 + rng.next() * 0.01,
      }));
      return (x, y) => {
        for (const r of reeds) {
          if (Math.abs(x - r.x) < r.w && y > r.top) return col.alt;
          if ((x - r.x) ** 2 + ((y - r.top) * 0.5) ** 2 < 0.0006) return col.accent;
        }
        if (y < horizon) return sky(y, x);
        return mix(col.base, shade(col.base, 0.8), 0.5 + 0.5 * Math.sin(y * 50 + x * 4 + phase));
      };
    }
    case 'tiles':
      return (x, y) => {
        const u = (x * 8 * freq + phase) % 1;
        const v = (y * 8 * freq) % 1;
        if (u < 0.08 || v < 0.08) return col.accent;
        return (Math.floor(x * 8 * freq + phase) + Math.floor(y * 8 * freq)) % 2 ? col.base : col.alt;
      };
    case 'cloth':
      return (x, y) => {
        const a = Math.sin((x + y) * 40 * freq + phase) > 0.5;
        const b = Math.sin((x - y) * 40 * freq) > 0.5;
        return a && b ? col.accent : a || b ? col.alt : col.base;
      };
    case 'shelves':
      return (x, y) => {
        const row = (y * 4 + phase) % 1;
        if (row < 0.1) return col.accent;
        return Math.sin(x * 50 * freq + Math.floor(y * 4 + phase) * 7) > 0.2 ? col.alt : col.base;
      };
    case 'checks':
      return (x, y) =>
        (Math.floor(x * 6 * freq) + Math.floor(y * 6 * freq + phase)) % 2
          ? col.base
          : mix(col.alt, col.accent, 0.5 + 0.5 * Math.sin(x * 9));
  }
}

type Hit = Rgb | null;
type Part = (x: number, y: number) => Hit;

/** The object's parts in its own frame (pixels, facing +x, y down), topmost first. */
function objectParts(kind: KindSpec, rng: Rng, jitterAmount: number): Part[] {
  const s = kind.shape;
  const c = {
    body: jitter(hexToRgb(kind.colors.body), rng, jitterAmount),
    wing: jitter(hexToRgb(kind.colors.wing), rng, jitterAmount),
    head: jitter(hexToRgb(kind.colors.head), rng, jitterAmount),
    beak: jitter(hexToRgb(kind.colors.beak), rng, jitterAmount),
    legs: jitter(hexToRgb(kind.colors.legs), rng, jitterAmount),
    mark: jitter(hexToRgb(kind.colors.marking), rng, jitterAmount),
  };
  const [rx, ry] = s.body;
  const ellipse = (cx: number, cy: number, ax: number, ay: number) => (x: number, y: number) =>
    ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1;
  const capsule = (x0: number, y0: number, x1: number, y1: number, r: number) => (x: number, y: number) => {
    const dx = x1 - x0;
    const dy = y1 - y0;
    const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy || 1)));
    return (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= r * r;
  };
  const triangle = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) => (x: number, y: number) => {
    const d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by);
    const d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy);
    const d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay);
    return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
  };
  const hr = s.head;
  const hx = rx * 0.7 + s.neck * 0.35;
  const hy = -ry * 0.5 - s.neck * 0.95;
  const [bl, bw] = s.beak;
  const inBody = ellipse(0, 0, rx, ry);
  const inWing = ellipse(-rx * 0.15, -ry * 0.1, rx * 0.65, ry * 0.6);
  const inHead = hr > 0 ? ellipse(hx, hy, hr, hr) : () => false;
  const inEye = hr > 0 ? ellipse(hx + hr * 0.35, hy - hr * 0.2, Math.max(0.7, hr * 0.22), Math.max(0.7, hr * 0.22)) : () => false;
  const inBeak =
    bl > 0 && hr > 0 ? triangle(hx + hr * 0.75, hy - bw, hx + hr * 0.75, hy + bw, hx + hr * 0.75 + bl, hy + bw * 0.4) : () => false;
  const inNeck = s.neck > 0 && hr > 0 ? capsule(rx * 0.55, -ry * 0.3, hx, hy, Math.max(1, hr * 0.55)) : () => false;
  const inTail = s.tail > 0 ? triangle(-rx * 0.7, -ry * 0.1, -rx - s.tail, -ry * 0.45, -rx - s.tail, ry * 0.25) : () => false;
  const legL = s.legs > 0 ? capsule(rx * 0.2, ry * 0.7, rx * 0.25, ry + s.legs, 0.6) : () => false;
  const legR = s.legs > 0 ? capsule(-rx * 0.2, ry * 0.7, -rx * 0.15, ry + s.legs, 0.6) : () => false;

  const m = kind.marking;
  const markBody = (x: number, y: number): Rgb => {
    if (m === 'breast' && ellipse(rx * 0.45, ry * 0.2, rx * 0.5, ry * 0.7)(x, y)) return c.mark;
    if (m === 'spots' && Math.sin(x * 2.1) * Math.sin(y * 2.1) > 0.6) return c.mark;
    if (m === 'stripe' && Math.abs(y - ry * 0.15) < ry * 0.2) return c.mark;
    return c.body;
  };
  const markWing = (x: number, _y: number): Rgb => {
    if (m === 'bars' && Math.floor((x + rx) / 1.6) % 2 === 0) return c.mark;
    if (m === 'wingtip' && x < -rx * 0.45) return c.mark;
    return c.wing;
  };
  const markHead = (x: number, y: number): Rgb => {
    if (m === 'cap' && y < hy - hr * 0.25) return c.mark;
    if (m === 'mask' && Math.abs(y - (hy - hr * 0.2)) < hr * 0.3 && x > hx - hr * 0.2) return c.mark;
    return c.head;
  };
  const dark: Rgb = [0.05, 0.05, 0.05];
  return [
    (x, y) => (inEye(x, y) ? dark : null),
    (x, y) => (inBeak(x, y) ? c.beak : null),
    (x, y) => (inHead(x, y) ? markHead(x, y) : null),
    (x, y) => (inWing(x, y) ? markWing(x, y) : null),
    (x, y) => (inNeck(x, y) ? c.body : null),
    (x, y) => (inBody(x, y) ? markBody(x, y) : null),
    (x, y) => (inTail(x, y) ? c.wing : null),
    (x, y) => (legL(x, y) || legR(x, y) ? c.legs : null),
  ];
}

/** Rough half extent of an object in its own frame, to keep it inside the image. */
function objectRadius(kind: KindSpec): number {
  const s = kind.shape;
  return Math.max(s.body[0] + s.tail, s.body[1] + s.legs, s.body[1] * 0.5 + s.neck + s.head, s.body[0] * 0.7 + s.head + s.beak[0]);
}

/** Draw one image: scene, then the object with a random pose, then pixel noise. Returns RGB bytes. */
export function renderImage(world: WorldSpec, kind: KindSpec, scene: SceneSpec, rng: Rng): Buffer {
  const size = world.image.size;
  const px = size / 64; // shapes are specified for 64 px images
  const paintScene = scenePainter(scene, rng, world.image.colorJitter);
  const parts = objectParts(kind, rng, world.image.colorJitter);
  const [smin, smax] = world.image.objectScale;
  const scale = (smin + rng.next() * (smax - smin)) * px;
  const flip = rng.next() < 0.5 ? -1 : 1;
  const angle = ((-kind.shape.upright + (rng.next() * 2 - 1) * world.image.tilt) * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const margin = Math.min(objectRadius(kind) * scale * 0.8, size * 0.45);
  const cx = margin + rng.next() * (size - 2 * margin);
  const cy = margin + rng.next() * (size - 2 * margin);
  const light = 0.85 + rng.next() * 0.3;
  const patches = valueNoise(size, 4, rng); // uneven lighting of the scene
  const reach = objectRadius(kind) * 1.5 * scale; // parts are only tested near the object
  // uniform noise with the requested std: much cheaper than a normal per channel
  const noise = world.image.noise * Math.sqrt(12);
  const out = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let col: Rgb | null = null;
      if (Math.abs(x + 0.5 - cx) < reach && Math.abs(y + 0.5 - cy) < reach) {
        // pixel centre -> object frame (undo translate, scale, rotation, flip)
        const dx = (x + 0.5 - cx) / scale;
        const dy = (y + 0.5 - cy) / scale;
        const lx = (cos * dx + sin * dy) * flip;
        const ly = -sin * dx + cos * dy;
        for (const part of parts) {
          col = part(lx, ly);
          if (col) break;
        }
      }
      const base = col ?? shade(paintScene((x + 0.5) / size, (y + 0.5) / size), 1 + 0.15 * patches[y * size + x]);
      const o = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        out[o + ch] = Math.round(clamp01(base[ch] * light + (rng.next() - 0.5) * noise) * 255);
      }
    }
  }
  return out;
}
