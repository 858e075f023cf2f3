// @ts-check
import { ADMIN_API } from './api.js';

/**
 * Quota utilisation for the top table: a Map from project id to the fraction of its tightest
 * project-wide limit in use (0…1, may exceed 1). The table draws a bar for every row present in
 * the map; keys and models get none (their limits cap a slice of a project).
 *
 * @param {string} token admin token
 * @param {'project' | 'key' | 'model'} dim
 * @returns {Promise<Map<string, number>>}
 */
export async function quotaUtilisation(token, dim) {
  if (dim !== 'project') return new Map();
  const res = await fetch(`${ADMIN_API}/usage/quota`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) return new Map();
  const body = await res.json();
  return new Map(body.data.map((/** @type {{ projectId: string, utilisation: number }} */ p) => [p.projectId, p.utilisation]));
}
