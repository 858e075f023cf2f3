// TEMPORARY fixture (removed in the next commit): a type-only cycle the dependency check must refuse.
import type { B } from './cycle-fixture-b.js';
export type A = { b: B | null };
