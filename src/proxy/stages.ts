import type { AppDeps } from '../app.js';
import { createScopeStage } from '../auth/scope-stage.js';
import { createUpstreamKeyStage } from '../auth/upstream-key-stage.js';
import type { ProxyStage } from './stage.js';

/**
 * The data plane's steps, in order: who may call what (scopes), which upstream key serves it,
 * whether the budget allows it (quotas), whose resources it touches (ownership). Each lives in its
 * own module; this list is the one place that orders them.
 */
export function createStages(deps: Omit<AppDeps, 'stages'>): ProxyStage[] {
  return [
    createScopeStage(),
    createUpstreamKeyStage(deps),
  ];
}
