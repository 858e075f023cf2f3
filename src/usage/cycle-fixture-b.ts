// TEMPORARY fixture (removed in the next commit): closes the cycle, and points up into a surface.
import type { A } from './cycle-fixture-a.js';
import type { AdminApp } from '../admin/types.js';
export type B = { a: A | null; app: AdminApp | null };
