import type { Endpoint } from '../exchange/classify.js';
import { isObject } from '../values.js';
import { CREATED_NAME } from './kinds.js';

/** A Veo operation (predictLongRunning): named under its model, not `<kind>/<id>`. */
const MODEL_OPERATION = /^models\/[^/]+\/operations\/[^/]+$/;

/**
 * Pure: the resources a successful response just created, from its parsed body (or, for a streamed
 * interaction, its first event). Upload finalize → `{file:{name}}`; files:register → `{files:[…]}`;
 * cachedContents create → `{name}`; batchGenerateContent / asyncBatchEmbedContent → an Operation
 * `{name:"batches/…"}`; interactions.create → `{id}` or `{interaction:{id}}` (empty when store=false).
 */
export function createdResources(endpoint: Endpoint, method: string, head: unknown): string[] {
  if (method !== 'POST' || !isObject(head)) return [];
  if (endpoint === 'interactions.create') {
    const interaction = isObject(head.interaction) ? head.interaction : head;
    return typeof interaction.id === 'string' && interaction.id !== '' ? [`interactions/${interaction.id}`] : [];
  }
  const names: unknown[] = [head.name];
  // tunedModels.create answers with an Operation `tunedModels/{id}/operations/{op}`; the model is what gets owned.
  if (typeof head.name === 'string') names.push(/^tunedModels\/[^/]+/.exec(head.name)?.[0]);
  if (isObject(head.metadata)) names.push(head.metadata.tunedModel);
  if (isObject(head.file)) names.push(head.file.name);
  if (Array.isArray(head.files)) for (const f of head.files) if (isObject(f)) names.push(f.name);
  return names.filter((n): n is string => typeof n === 'string' && (CREATED_NAME.test(n) || MODEL_OPERATION.test(n)));
}
