/**
 * A statechart description drawn as inline SVG, laid out by hand (no graphviz on CI machines, and
 * the report must work offline). The charts are pipelines without cycles, so a column suffices:
 * top-level states top to bottom in document order, parallel regions side by side, every
 * transition a row inside its source state's box. Wires to the next state run down a gutter on the
 * left; wires to `denied` run right, into one bar that spans the whole chart.
 */
import type { ChartDescription, ChartState, ChartTransition } from '../../model/describe.ts';
import { escapeMarkup as esc } from './escape.ts';

export interface ChartHighlight {
  /** transition indexes on the counterexample's path */
  onPath?: ReadonlySet<number>;
  /** transition indexes whose answer the harness arranged (unhealthy answers) */
  injected?: ReadonlySet<number>;
  /** transition indexes the run never exercised */
  uncovered?: ReadonlySet<number>;
  /** step numbers per transition index, shown next to the row */
  steps?: ReadonlyMap<number, number[]>;
}

const CH = 6.7; // width of one 11px monospace character
const CH_BOLD = 7.4; // 12px bold
const ROW_H = 17;
const PAD = 8;
const HEADER_ASKS = 36;
const HEADER_PLAIN = 22;
const CONTAINER_HEADER = 24;
const GUTTER = 32;
const GAP = 24;
const REGION_GAP = 14;
const LEFT = 64;
const TOP = 12;
const BAR_GAP = 44;
const BAR_W = 74;

interface Box {
  state: ChartState;
  x: number;
  y: number;
  w: number;
  h: number;
  children: Box[];
  /** transition indexes drawn as rows in this box, with the row's centre line */
  rows: { index: number; y: number }[];
}

const leaf = (path: string) => path.slice(path.lastIndexOf('.') + 1);
const parentOf = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
const isContainer = (s: ChartState) => s.type === 'compound' || s.type === 'parallel';

function rowText(state: ChartState, t: ChartTransition): { left: string; right: string } {
  let event = t.event === 'done' ? 'all regions done' : t.event === 'always' ? 'then' : t.event;
  if (state.asks && event.startsWith(`${state.asks}.`)) event = event.slice(state.asks.length + 1);
  return { left: `${event}${t.guard ? ` [${t.guard}]` : ''}`, right: t.code ?? '' };
}

/** Draws one chart. `id` keeps marker ids unique when a page holds several charts. */
export function chartSvg(chart: ChartDescription, id: string, highlight: ChartHighlight = {}): string {
  const denied = chart.states.find((s) => s.path === 'denied' && s.type === 'final');
  const rowsOf = (path: string) => chart.transitions.flatMap((t, index) => (t.source === path ? [index] : []));
  const childrenOf = (path: string) => chart.states.filter((s) => parentOf(s.path) === path && s !== denied);

  // Minimal sizes, bottom up.
  const size = new Map<string, { w: number; h: number }>();
  const measure = (state: ChartState): { w: number; h: number } => {
    const rows = rowsOf(state.path).map((i) => rowText(state, chart.transitions[i]!));
    const rowsW = Math.max(0, ...rows.map((r) => (r.left.length + r.right.length + 3) * CH));
    let result: { w: number; h: number };
    if (state.type === 'final') {
      result = { w: leaf(state.path).length * CH_BOLD + 2 * PAD + 12, h: 24 };
    } else if (!isContainer(state)) {
      const header = state.asks ? HEADER_ASKS : HEADER_PLAIN;
      const headW = Math.max(leaf(state.path).length * CH_BOLD, state.asks ? `asks ${state.asks}`.length * CH : 0);
      result = { w: Math.max(headW, rowsW) + 2 * PAD, h: header + rows.length * ROW_H + PAD / 2 };
    } else {
      const kids = childrenOf(state.path).map(measure);
      const footer = rows.length * ROW_H;
      const titleW = (leaf(state.path).length + 12) * CH_BOLD;
      if (state.type === 'parallel') {
        const w = 2 * PAD + kids.reduce((a, k) => a + k.w, 0) + REGION_GAP * Math.max(0, kids.length - 1);
        result = { w: Math.max(w, rowsW + 2 * PAD, titleW), h: CONTAINER_HEADER + Math.max(0, ...kids.map((k) => k.h)) + footer + PAD };
      } else {
        const w = GUTTER + Math.max(0, ...kids.map((k) => k.w)) + PAD;
        const h = CONTAINER_HEADER + kids.reduce((a, k) => a + k.h, 0) + GAP * Math.max(0, kids.length - 1) + footer + PAD;
        result = { w: Math.max(w, rowsW + 2 * PAD, titleW), h };
      }
    }
    size.set(state.path, result);
    return result;
  };

  const boxes = new Map<string, Box>();
  const place = (state: ChartState, x: number, y: number, w: number, h?: number): Box => {
    const own = size.get(state.path)!;
    const box: Box = { state, x, y, w, h: h ?? own.h, children: [], rows: [] };
    boxes.set(state.path, box);
    const rows = rowsOf(state.path);
    if (!isContainer(state)) {
      const header = state.type === 'final' ? 0 : state.asks ? HEADER_ASKS : HEADER_PLAIN;
      rows.forEach((index, i) => box.rows.push({ index, y: y + header + i * ROW_H + ROW_H / 2 }));
      return box;
    }
    const kids = childrenOf(state.path);
    const footer = rows.length * ROW_H;
    if (state.type === 'parallel') {
      const natural = kids.reduce((a, k) => a + size.get(k.path)!.w, 0) + REGION_GAP * Math.max(0, kids.length - 1);
      const extra = kids.length > 0 ? (w - 2 * PAD - natural) / kids.length : 0;
      const regionH = box.h - CONTAINER_HEADER - footer - PAD;
      let cx = x + PAD;
      for (const kid of kids) {
        const kw = size.get(kid.path)!.w + extra;
        box.children.push(place(kid, cx, y + CONTAINER_HEADER, kw, regionH));
        cx += kw + REGION_GAP;
      }
    } else {
      // Spare height goes before a closing final state, so parallel regions end level.
      const natural = size.get(state.path)!.h;
      const spare = box.h - natural;
      let cy = y + CONTAINER_HEADER;
      kids.forEach((kid, i) => {
        if (i === kids.length - 1 && kid.type === 'final') cy += spare;
        const kh = size.get(kid.path)!.h;
        const kw = kid.type === 'final' ? size.get(kid.path)!.w : w - GUTTER - PAD;
        box.children.push(place(kid, x + GUTTER, cy, kw, kh));
        cy += kh + GAP;
      });
    }
    rows.forEach((index, i) => box.rows.push({ index, y: y + box.h - footer - PAD / 2 + i * ROW_H + ROW_H / 2 }));
    return box;
  };

  const top = childrenOf('');
  top.forEach(measure);
  const colW = Math.max(...top.map((s) => (s.type === 'final' ? 0 : size.get(s.path)!.w)));
  let y = TOP;
  for (const s of top) {
    const own = size.get(s.path)!;
    place(s, LEFT, y, s.type === 'final' ? own.w : colW);
    y += own.h + GAP;
  }
  const bottom = y - GAP;
  const barX = LEFT + colW + BAR_GAP;
  const width = denied ? barX + BAR_W + 8 : LEFT + colW + 8;
  const height = bottom + TOP;

  const onPath = highlight.onPath ?? new Set<number>();
  const statesOnPath = new Set<string>();
  for (const i of onPath) {
    const t = chart.transitions[i]!;
    for (const p of [t.source, ...t.targets]) for (let q = p; q; q = parentOf(q)) statesOnPath.add(q);
  }
  const classes = (index: number, base: string) => {
    const t = chart.transitions[index]!;
    return [
      base,
      onPath.has(index) ? 'on-path' : '',
      highlight.injected?.has(index) ? 'injected' : '',
      highlight.uncovered?.has(index) ? 'uncovered' : '',
      t.code ? 'denial' : '',
    ].filter(Boolean).join(' ');
  };

  // Markers do not take the colour of the path they end (not everywhere yet): one per colour.
  const arrow = (index: number) => `${id}-arrow${onPath.has(index) ? '-on' : ''}`;
  // Wires: right into the denied bar, or down the left gutter into the target's header.
  const lanes = new Map<number, { lane: number; y1: number; y2: number; target: string }[]>();
  const wire = (index: number, from: Box, rowY: number, target: string): string => {
    const t = chart.transitions[index]!;
    const attrs = `class="${classes(index, 'wire')}" data-event="${esc(t.event)}" data-source="${esc(t.source)}" data-target="${esc(target)}" data-index="${index}"`;
    if (denied && target === denied.path) {
      return `<path ${attrs} d="M${from.x + from.w} ${rowY} H${barX - 2}" marker-end="url(#${arrow(index)})"/>`;
    }
    const to = boxes.get(target);
    if (!to) return '';
    const toY = to.y + (isContainer(to.state) ? CONTAINER_HEADER / 2 : to.state.type === 'final' ? to.h / 2 : 12);
    const base = Math.min(from.x, to.x);
    const used = lanes.get(base) ?? [];
    const [y1, y2] = [Math.min(rowY, toY), Math.max(rowY, toY)];
    let lane = 0;
    while (used.some((u) => u.lane === lane && u.target !== target && u.y1 <= y2 + 3 && y1 <= u.y2 + 3)) lane += 1;
    used.push({ lane, y1, y2, target });
    lanes.set(base, used);
    const laneX = base - 8 - 6 * lane;
    return `<path ${attrs} d="M${from.x} ${rowY} H${laneX} V${toY} H${to.x - 2}" marker-end="url(#${arrow(index)})"/>`;
  };

  const parts: string[] = [];
  const wires: { onPath: boolean; svg: string }[] = [];
  const drawBox = (box: Box): void => {
    const s = box.state;
    const on = statesOnPath.has(s.path) ? ' on-path' : '';
    const data = `data-state="${esc(s.path)}"`;
    if (isContainer(s)) {
      parts.push(
        `<g class="state container ${s.type}${on}" ${data}><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="8"/>` +
          `<text class="name" x="${box.x + 10}" y="${box.y + 16}">${esc(leaf(s.path))}${s.type === 'parallel' ? ' <tspan class="kind">(parallel regions)</tspan>' : ''}</text></g>`,
      );
    } else if (s.type === 'final') {
      parts.push(
        `<g class="state final${on}" ${data}><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="12"/>` +
          `<text class="name" x="${box.x + box.w / 2}" y="${box.y + 16}" text-anchor="middle">${esc(leaf(s.path))}</text></g>`,
      );
    } else {
      parts.push(
        `<g class="state atomic${on}" ${data}><title>${esc(s.path)}${s.description ? `: ${esc(s.description)}` : ''}</title>` +
          `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="5"/>` +
          `<text class="name" x="${box.x + PAD}" y="${box.y + 15}">${esc(leaf(s.path))}</text>` +
          (s.asks ? `<text class="asks" x="${box.x + PAD}" y="${box.y + 29}">asks ${esc(s.asks)}</text>` : '') +
          '</g>',
      );
    }
    for (const child of box.children) drawBox(child);
    for (const row of box.rows) {
      const t = chart.transitions[row.index]!;
      const { left, right } = rowText(s, t);
      const steps = highlight.steps?.get(row.index);
      const tip = `${t.source}: ${t.event}${t.guard ? ` [${t.guard}]` : ''}${t.code ? ` / ${t.code}` : ''} → ${t.targets.join(', ')}${steps ? ` (step ${steps.join(', ')})` : ''}${highlight.uncovered?.has(row.index) ? ' — not exercised by this run' : ''}`;
      parts.push(
        `<g class="${classes(row.index, 'transition')}" data-event="${esc(t.event)}" data-source="${esc(t.source)}" data-index="${row.index}"><title>${esc(tip)}</title>` +
          `<rect x="${box.x + 2}" y="${row.y - ROW_H / 2 + 1}" width="${box.w - 4}" height="${ROW_H - 2}" rx="3"/>` +
          `<text class="answer" x="${box.x + PAD}" y="${row.y + 4}">${steps ? `<tspan class="step">${esc(steps.join(','))}</tspan> ` : ''}${esc(left)}</text>` +
          (right ? `<text class="code" x="${box.x + box.w - PAD}" y="${row.y + 4}" text-anchor="end">${esc(right)}</text>` : '') +
          '</g>',
      );
      for (const target of t.targets) wires.push({ onPath: onPath.has(row.index), svg: wire(row.index, box, row.y, target) });
    }
  };
  for (const s of top) drawBox(boxes.get(s.path)!);
  if (denied) {
    const on = statesOnPath.has(denied.path) ? ' on-path' : '';
    parts.push(
      `<g class="state final denied-bar${on}" data-state="${esc(denied.path)}"><rect x="${barX}" y="${TOP}" width="${BAR_W}" height="${bottom - TOP}" rx="10"/>` +
        `<text class="name" x="${barX + BAR_W / 2}" y="${TOP + 18}" text-anchor="middle">denied</text>` +
        `<text class="asks" x="${barX + BAR_W / 2}" y="${TOP + 32}" text-anchor="middle">(final)</text></g>`,
    );
  }
  const marker = (suffix: string) =>
    `<marker id="${id}-arrow${suffix}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
    `<path d="M0 0 L8 4 L0 8 z" class="arrowhead${suffix ? ' arrowhead-on' : ''}"/></marker>`;
  const markers = `<defs>${marker('')}${marker('-on')}</defs>`;
  // Wires on the path last, so they are drawn over the others.
  const wireSvg = [...wires.filter((w) => !w.onPath), ...wires.filter((w) => w.onPath)].map((w) => w.svg).join('');
  return (
    `<svg class="chart" id="${esc(id)}" role="img" aria-label="${esc(`statechart ${chart.id}`)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" width="${Math.ceil(width)}" height="${Math.ceil(height)}">` +
    `${markers}<g class="boxes">${parts.join('')}</g><g class="wires">${wireSvg}</g></svg>`
  );
}
