import { wholeList } from '../db/pagination.js';
import { createPriceBook, loadPriceFile } from '../usage/prices.js';
import { recentModelUsage, unpricedAmong, UNPRICED_WINDOW_DAYS, windowStart } from '../usage/unpriced-recent.js';
import { flags, output } from './args.js';
import type { Command } from './command.js';
import { table, UsageError } from './output.js';

export const priceCommands: Command[] = [
  {
    name: 'prices check',
    usage: `prices check [--days n] [--json]   models used in the last ${UNPRICED_WINDOW_DAYS} days with no price; exit 1 if any (for cron/CI)`,
    run({ db, clock, config }, args) {
      const { values } = flags(args, { days: { type: 'string' } });
      const days = Number(values.days ?? UNPRICED_WINDOW_DAYS);
      if (!Number.isInteger(days) || days < 1 || days > 400) throw new UsageError('--days wants a whole number of days from 1 to 400');
      const prices = createPriceBook(config.PRICES_FILE ? loadPriceFile(config.PRICES_FILE) : []);
      const now = clock.now();
      // Synchronous on SQLite (the CLI's commands are); the admin endpoint awaits the same builder.
      const unpriced = unpricedAmong(recentModelUsage(db, windowStart(now, days)).all(), prices, now);
      const list = wholeList(unpriced.map((m) => ({ ...m, lastSeenAt: new Date(m.lastSeenAt).toISOString() })));
      output(values.json, list, (p) =>
        p.data.length === 0
          ? `every model used in the last ${days} days has a price`
          : `${p.data.length} model(s) used in the last ${days} days have no price; their cost is left out of estimates. Add them to PRICES_FILE.\n\n` +
            table(['model', 'requests', 'total tokens', 'last used (day)'], p.data.map((m) => [m.model, String(m.requests), String(m.totalTokens), m.lastSeenAt.slice(0, 10)])),
      );
      return unpriced.length > 0 ? 1 : 0;
    },
  },
];
