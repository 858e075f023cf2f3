import { parseArgs } from 'node:util';
import { METRIC_KEYS } from '../usage/aggregate.js';
import { aggregateParams } from '../usage/params.js';
import { createPriceBook, loadPriceFile } from '../usage/prices.js';
import { rebuildUsageRollups } from '../ledger/rebuild-rollups.js';
import { createUsageService, toCsv } from '../usage/service.js';
import type { Command } from './command.js';
import { print, table, UsageError } from './output.js';

const FILTERS = ['tenant', 'project', 'key', 'model', 'endpoint', 'outcome', 'from', 'to'] as const;
const SHOWN = ['requests', 'errors', 'aborted', 'totalTokens', 'estimatedCostUsd', 'latencyMsP50', 'latencyMsP95'];

export const usageCommands: Command[] = [
  {
    name: 'usage rebuild',
    usage: 'usage rebuild                recompute rollups from raw events (and price rows that have no cost yet)',
    async run({ db, config }) {
      const prices = createPriceBook(config.PRICES_FILE ? loadPriceFile(config.PRICES_FILE) : []);
      const { events, priced } = await rebuildUsageRollups(db, prices);
      print(`rebuilt rollups from ${events} events; priced ${priced} that had no cost`);
    },
  },
  {
    name: 'usage',
    usage: 'usage [--from ISO] [--to ISO] [--group-by day,project] [--project p] [--tenant t] [--key k] [--model m] [--endpoint e] [--outcome o] [--json|--csv]',
    async run({ db, clock, config }, args) {
      const { values } = parseArgs({
        args,
        options: { ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' as const }])), 'group-by': { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' } },
      });
      const given = values as Record<string, string | boolean | undefined>;
      const parsed = aggregateParams.safeParse({ ...Object.fromEntries(FILTERS.map((f) => [f, given[f]])), groupBy: given['group-by'] });
      if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('; '));
      const result = await createUsageService({ db, clock, config }).aggregate(parsed.data);
      if (values.json) return print(JSON.stringify(result));
      if (values.csv) return void process.stdout.write(toCsv(result.columns, result.groups));
      // Slugs and prefixes read better than ids in a terminal; --json and --csv carry both.
      const labels = result.columns.filter((c) => !(METRIC_KEYS as readonly string[]).includes(c) && !c.endsWith('Id'));
      const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v));
      print(`${result.from} → ${result.to} (estimated USD; latency percentiles approximate)\n`);
      print(table([...labels, ...SHOWN], [...result.groups, { ...result.totals, [labels[0] ?? 'requests']: 'total' }].map((g) => [...labels, ...SHOWN].map((c) => cell(g[c])))));
    },
  },
];
