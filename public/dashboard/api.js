// @ts-check
/** Thin client for the admin usage API: Bearer token on every call, errors as Error(message). */

const TOKEN_KEY = 'ggw.adminToken';

/**
 * The admin API relative to the page (…/dashboard/), never from the host's root: a gateway published
 * under a path (PUBLIC_BASE_URL=https://host/gw) sits behind a proxy that sends only /gw/… to it, and
 * /admin/… at the root is another application, which must not receive the admin token.
 */
export const ADMIN_API = '../admin/v1';

export const session = {
  /** @returns {string | null} */
  get: () => sessionStorage.getItem(TOKEN_KEY),
  /** @param {string} t */
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class Unauthorized extends Error {}

/**
 * @param {string} token
 */
export function createApi(token) {
  /**
   * @param {string} path
   * @param {Record<string, string>} params
   */
  async function get(path, params) {
    const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null));
    const res = await fetch(`${path}?${qs}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 401) throw new Unauthorized('The admin token was not accepted.');
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
    }
    return res;
  }
  return {
    /** @param {Record<string, string>} params */
    usage: async (params) => (await get(`${ADMIN_API}/usage`, params)).json(),
    /** @param {Record<string, string>} params */
    csv: async (params) => (await get(`${ADMIN_API}/usage`, { ...params, format: 'csv' })).text(),
    prices: async () => (await get(`${ADMIN_API}/usage/prices`, {})).json(),
    unpricedModels: async () => (await get(`${ADMIN_API}/usage/unpriced-models`, {})).json(),
    /** Models used in the last 30 days with no price in the table in force now (the warning banner). */
    unpricedRecent: async () => (await get(`${ADMIN_API}/prices/unpriced`, {})).json(),
  };
}

/**
 * Saves text as a file through a temporary object URL.
 * @param {string} text
 * @param {string} filename
 */
export function download(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
