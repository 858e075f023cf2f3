import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The architecture as a test: .dependency-cruiser.cjs declares the layers and forbids cycles (type
 * imports included); this runs it inside `npm test` and adds what its rules cannot say: every file
 * sits in exactly one layer, and folders (not only modules) import each other without cycles.
 */
let result: ICruiseResult;
let rules: IForbiddenRuleType[];

beforeAll(async () => {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  rules = options.ruleSet?.forbidden ?? [];
  const cruised = await cruise(['src'], { ...options, validate: true }, undefined, { tsConfig: extractTSConfig('tsconfig.json') });
  result = cruised.output as ICruiseResult;
}, 60_000);

describe('dependencies', () => {
  it('has no module cycle and no import going up a layer', () => {
    const violations = result.summary.violations.map((v) => `${v.rule.name}: ${[v.from, ...(v.cycle?.map((c) => c.name) ?? [v.to])].join(' → ')}`);
    expect(violations).toEqual([]);
    expect(result.modules.length).toBeGreaterThan(100);
  });

  it('puts every source file in exactly one layer', () => {
    const layers = new Map<string, { path: string; pathNot?: string }>();
    for (const rule of rules) {
      const m = /^(.+)-not-to-(.+)$/.exec(rule.name ?? '');
      if (!m) continue;
      const { from, to } = rule as { from: { path: string; pathNot?: string }; to: { path: string; pathNot?: string } };
      layers.set(m[1]!, from);
      layers.set(m[2]!, to);
    }
    expect(layers.size).toBeGreaterThanOrEqual(6);
    const inLayer = (file: string, l: { path: string; pathNot?: string }) => new RegExp(l.path).test(file) && !(l.pathNot && new RegExp(l.pathNot).test(file));
    const misplaced = result.modules
      .filter((m) => m.source.startsWith('src/') && m.source.endsWith('.ts'))
      .map((m) => ({ file: m.source, in: [...layers].filter(([, l]) => inLayer(m.source, l)).map(([name]) => name) }))
      .filter((m) => m.in.length !== 1);
    expect(misplaced).toEqual([]);
  });

  it('has no cycle between folders', () => {
    expect(folderCycles(result)).toEqual([]);
  });
});

/**
 * Cycles in the graph of folders under src/ (a root-level file is a node of its own). deps.ts is a
 * types-only index, so it is looked through: a surface importing it depends on what it names.
 */
function folderCycles(r: ICruiseResult): string[][] {
  const HUB = 'src/deps.ts';
  const node = (file: string) => {
    const parts = file.split('/');
    return parts.length > 2 ? parts[1]! : parts[1]!;
  };
  const hubTargets = r.modules.find((m) => m.source === HUB)?.dependencies.map((d) => d.resolved) ?? [];
  const edges = new Map<string, Set<string>>();
  for (const m of r.modules) {
    if (!m.source.startsWith('src/') || m.source === HUB) continue;
    const from = node(m.source);
    const targets = m.dependencies.flatMap((d) => (d.resolved === HUB ? hubTargets : [d.resolved])).filter((t) => t.startsWith('src/'));
    for (const t of targets) {
      const to = node(t);
      if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
  }
  // Tarjan's strongly connected components: any component with more than one folder is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}
