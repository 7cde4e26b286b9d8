/**
 * Drawing a chart description as Mermaid (stateDiagram-v2), Graphviz DOT, or plain text.
 * Denial transitions are labelled with the code they record; guards are shown in brackets.
 */
import type { ChartDescription, ChartState, ChartTransition } from './describe.ts';

const idOf = (path: string) => path.replace(/[^A-Za-z0-9_]/g, '_');
const leaf = (path: string) => path.slice(path.lastIndexOf('.') + 1);
const parentOf = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');

export function transitionLabel(t: ChartTransition): string {
  const parts = [t.event === 'done' ? 'all regions done' : t.event];
  if (t.guard) parts.push(`[${t.guard}]`);
  if (t.code) parts.push(`/ ${t.code}`);
  return parts.join(' ');
}

function childrenOf(chart: ChartDescription, parent: string): ChartState[] {
  return chart.states.filter((s) => parentOf(s.path) === parent);
}

/** The initial child of a compound state is its first child in document order. */
function initialOf(chart: ChartDescription, parent: string): ChartState | undefined {
  return childrenOf(chart, parent)[0];
}

export function toMermaid(chart: ChartDescription): string {
  const lines = ['stateDiagram-v2'];
  const emit = (parent: string, indent: string): void => {
    const children = childrenOf(chart, parent);
    const parentState = chart.states.find((s) => s.path === parent);
    const regions = parentState?.type === 'parallel';
    const first = initialOf(chart, parent);
    if (first && !regions) lines.push(`${indent}[*] --> ${idOf(first.path)}`);
    children.forEach((child, i) => {
      if (regions && i > 0) lines.push(`${indent}--`);
      const label = child.asks ? `${leaf(child.path)} (asks ${child.asks})` : leaf(child.path);
      if (child.type === 'compound' || child.type === 'parallel') {
        lines.push(`${indent}state "${label}" as ${idOf(child.path)} {`);
        emit(child.path, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${label}" as ${idOf(child.path)}`);
        if (child.type === 'final') lines.push(`${indent}${idOf(child.path)} --> [*]`);
      }
    });
  };
  emit('', '  ');
  for (const t of chart.transitions) {
    for (const target of t.targets) lines.push(`  ${idOf(t.source)} --> ${idOf(target)}: ${transitionLabel(t).replace(/:/g, '∶')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function toDot(chart: ChartDescription): string {
  const lines = [`digraph "${chart.id}" {`, '  rankdir=LR; compound=true;', '  node [shape=box, style=rounded, fontname="Helvetica"];', '  edge [fontname="Helvetica", fontsize=10];'];
  const emit = (parent: string, indent: string): void => {
    for (const child of childrenOf(chart, parent)) {
      if (child.type === 'compound' || child.type === 'parallel') {
        lines.push(`${indent}subgraph "cluster_${idOf(child.path)}" {`);
        lines.push(`${indent}  label="${leaf(child.path)}${child.type === 'parallel' ? ' (parallel)' : ''}"; style=dashed;`);
        // An anchor node lets transitions leave a cluster (onDone) in DOT.
        lines.push(`${indent}  "${idOf(child.path)}" [shape=point, width=0.05];`);
        emit(child.path, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        const label = child.asks ? `${leaf(child.path)}\\n? ${child.asks}` : leaf(child.path);
        const shape = child.type === 'final' ? ', shape=doublecircle' : '';
        lines.push(`${indent}"${idOf(child.path)}" [label="${label}"${shape}];`);
      }
    }
  };
  emit('', '  ');
  for (const t of chart.transitions) {
    for (const target of t.targets) {
      const colour = t.code ? ', color="firebrick", fontcolor="firebrick"' : '';
      lines.push(`  "${idOf(t.source)}" -> "${idOf(target)}" [label="${transitionLabel(t).replace(/"/g, '\\"')}"${colour}];`);
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function toText(chart: ChartDescription): string {
  const lines = [`chart "${chart.id}": ${chart.states.length} states, ${chart.transitions.length} transitions`, ''];
  for (const state of chart.states) {
    const depth = state.path.split('.').length - 1;
    const kind = state.type === 'atomic' ? '' : ` [${state.type}]`;
    const asks = state.asks ? `  asks ${state.asks}: ${state.description}` : '';
    lines.push(`${'  '.repeat(depth + 1)}${leaf(state.path)}${kind}${asks}`);
    for (const t of chart.transitions.filter((x) => x.source === state.path)) {
      lines.push(`${'  '.repeat(depth + 2)}${transitionLabel(t)} → ${t.targets.join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
