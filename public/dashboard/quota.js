// @ts-check
/**
 * Quota utilisation for the top table: a Map from row id (project id, key id or model) to the
 * fraction of its tightest budget used (0…1, may exceed 1). The table draws a bar for every row
 * present in the map and nothing otherwise.
 *
 * Hook for the quota feature: once limits and consumption are readable by an admin (for example
 * GET /admin/v1/projects/{id}/limits returning used/limit per window), fetch them here for
 * `dim === 'project'` and return used ÷ limit. Until then the column stays empty.
 *
 * @param {string} _token admin token, for fetching limits
 * @param {'project' | 'key' | 'model'} _dim
 * @param {Array<Record<string, any>>} _rows the table's groups
 * @returns {Promise<Map<string, number>>}
 */
export async function quotaUtilisation(_token, _dim, _rows) {
  return new Map();
}
