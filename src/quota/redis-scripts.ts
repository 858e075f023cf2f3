/**
 * The server-side halves of shared quotas. Every key of one project carries the hash tag
 * `{projectId}`, so each script touches one Cluster slot. Times come from the Redis server (TIME),
 * so replicas with skewed clocks agree on when a lease lapses.
 *
 * Keys per bucket (project, key or model slice): a hash per window (`tokens`, `requests`), a sorted
 * set of leases scored by expiry, and a hash lease id → reserved estimate plus `#held`, their sum.
 *
 * A window missing from Redis is created at zero when it began after this project's epoch (the
 * moment Redis first saw the project: nothing can have been counted in it elsewhere), and otherwise
 * seeded from the database: the script answers which windows need a seed, the caller reads them and
 * calls again with the values, and the script writes a seed only if the window is still missing.
 * Seed and check are one atomic step, so two replicas seeding at once cannot overwrite increments.
 */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local EPOCH_TTL = 3456000000
local function epoch_of(key, now)
  local e = redis.call('GET', key)
  if e then redis.call('PEXPIRE', key, EPOCH_TTL) return tonumber(e) end
  redis.call('SET', key, now, 'PX', EPOCH_TTL)
  return now
end
local function ensure(key, start, ttl, epoch, seedT, seedR)
  if redis.call('EXISTS', key) == 1 then return true end
  if tonumber(start) >= epoch then
    redis.call('HSET', key, 'tokens', 0, 'requests', 0)
  elseif seedT ~= nil and seedT ~= '' then
    redis.call('HSET', key, 'tokens', seedT, 'requests', seedR)
  else
    return false
  end
  redis.call('PEXPIRE', key, ttl)
  return true
end
local function release(zs, hs, id)
  if redis.call('ZREM', zs, id) == 0 then return false end
  local e = tonumber(redis.call('HGET', hs, id) or '0')
  redis.call('HDEL', hs, id)
  -- Never -0: Redis refuses it as an increment.
  if e ~= 0 then redis.call('HINCRBY', hs, '#held', 0 - e) end
  return true
end
local function purge(zs, hs, now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', zs, '-inf', now)) do release(zs, hs, id) end
end
local function num(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
end
`;

/**
 * Admission. KEYS: epoch, then per bucket: window minute, day, month, lease zset, lease hash.
 * ARGV[1], JSON (one argument: building and framing ~60 separate ones cost the client more than the
 * script itself): [lease id, lease ms, estimate, [3 window starts], [3 TTLs], per bucket [limited
 * (0|1), rpm, tpm, tpd, tpmo, max concurrent] (-1: none), seeds: flat [bucket, window, tokens,
 * requests] (1-based; values as strings, written verbatim)].
 * Returns {'seed', i1, w1, …} (bucket, window 1-based), or {'ok'|'refused', counts…} with 8 numbers
 * per bucket: tokens and requests per window, held, in flight (after the reservation when ok).
 */
export const ADMIT = `${PRELUDE}
local now = now_ms()
local epoch = epoch_of(KEYS[1], now)
local a = cjson.decode(ARGV[1])
local leaseId, leaseMs, est, starts, ttls, lim, sd = a[1], a[2], a[3], a[4], a[5], a[6], a[7]
local nb = #lim
local seed = {}
for s = 1, #sd, 4 do seed[sd[s] * 3 + sd[s + 1]] = {sd[s + 2], sd[s + 3]} end
local missing = {}
-- Each window hash and lease set is read once (HMGET, HGET, ZCARD); the checks and the answer use
-- these values and the increments' replies rather than reading again: ~45 calls where there were ~67.
local tok, req, usable, held, inflight = {}, {}, {}, {}, {}
for i = 0, nb - 1 do
  local k = 1 + 5 * i
  purge(KEYS[k + 4], KEYS[k + 5], now)
  for w = 1, 3 do
    local key, c = KEYS[k + w], i * 3 + w
    local v = redis.call('HMGET', key, 'tokens', 'requests')
    if v[1] or v[2] or redis.call('EXISTS', key) == 1 then
      tok[c], req[c], usable[c] = tonumber(v[1] or '0'), tonumber(v[2] or '0'), true
    else
      local s = seed[(i + 1) * 3 + w] or {}
      usable[c] = ensure(key, starts[w], ttls[w], epoch, s[1], s[2])
      if usable[c] then
        tok[c], req[c] = num(key, 'tokens'), num(key, 'requests')
      else
        tok[c], req[c] = 0, 0
        if lim[i + 1][1] == 1 then
          missing[#missing + 1] = i + 1
          missing[#missing + 1] = w
        end
      end
    end
  end
  held[i] = num(KEYS[k + 5], '#held')
  inflight[i] = redis.call('ZCARD', KEYS[k + 4])
end
if #missing > 0 then
  table.insert(missing, 1, 'seed')
  return missing
end
local function counts(out)
  for i = 0, nb - 1 do
    for w = 1, 3 do
      out[#out + 1] = tok[i * 3 + w]
      out[#out + 1] = req[i * 3 + w]
    end
    out[#out + 1] = held[i]
    out[#out + 1] = inflight[i]
  end
  return out
end
for i = 0, nb - 1 do
  local l = lim[i + 1]
  if l[1] == 1 then
    local rpm, maxc = l[2], l[6]
    if rpm >= 0 and req[i * 3 + 1] + 1 > rpm then return counts({'refused'}) end
    if maxc >= 0 and inflight[i] + 1 > maxc then return counts({'refused'}) end
    if est > 0 then
      for w = 1, 3 do
        local limit = l[2 + w]
        if limit >= 0 then
          local need = math.max(1, math.min(est, limit))
          if tok[i * 3 + w] + held[i] + need > limit then return counts({'refused'}) end
        end
      end
    end
  end
end
local expires = now + leaseMs
for i = 0, nb - 1 do
  local k = 1 + 5 * i
  for w = 1, 3 do
    if usable[i * 3 + w] then req[i * 3 + w] = redis.call('HINCRBY', KEYS[k + w], 'requests', 1) end
  end
  inflight[i] = inflight[i] + redis.call('ZADD', KEYS[k + 4], expires, leaseId)
  redis.call('HSET', KEYS[k + 5], leaseId, est)
  held[i] = redis.call('HINCRBY', KEYS[k + 5], '#held', est)
  redis.call('PEXPIRE', KEYS[k + 4], leaseMs * 3)
  redis.call('PEXPIRE', KEYS[k + 5], leaseMs * 3)
end
return counts({'ok'})
`;

/**
 * Settlement (and catch-up after an outage). KEYS: epoch, this replica's applied-settlements set,
 * then nRel pairs (lease zset, lease hash), then one window hash per increment. ARGV[1], JSON: [lease
 * id, nRel, settlement id, how long ids are remembered (ms), increments: per increment [field, delta,
 * window start, TTL, seed tokens, seed requests, when] (delta and seeds as strings, '' when no seed;
 * when: 'a' always, 'f' only if the lease was found, 'm' only if it was missing)]. Releasing a lease
 * that already lapsed changes nothing, and a settlement id seen before (a retry after a lost answer)
 * changes nothing: it returns {-1}. Otherwise returns the 1-based increments that still need a seed;
 * the others are applied.
 */
export const SETTLE = `${PRELUDE}
local now = now_ms()
local epoch = epoch_of(KEYS[1], now)
local a = cjson.decode(ARGV[1])
local leaseId, nRel, sid, keep, incs = a[1], a[2], a[3], a[4], a[5]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - keep)
if redis.call('ZADD', KEYS[2], 'NX', now, sid) == 0 then return {-1} end
redis.call('PEXPIRE', KEYS[2], keep)
local found = false
for r = 0, nRel - 1 do
  if release(KEYS[3 + 2 * r], KEYS[4 + 2 * r], leaseId) then found = true end
end
local missing = {}
for j = 1, #incs do
  local key, i = KEYS[2 + 2 * nRel + j], incs[j]
  local when = i[7]
  if when == 'a' or (when == 'f' and found) or (when == 'm' and not found) then
    if ensure(key, i[3], i[4], epoch, i[5], i[6]) then
      redis.call('HINCRBY', key, i[1], i[2])
    else
      missing[#missing + 1] = j
    end
  end
end
return missing
`;

/**
 * Renewal. KEYS: pairs (lease zset, lease hash); ARGV: lease ms, then per pair the lease id and its
 * estimate. A lease that lapsed is restored with its estimate (its request still runs: Redis was out
 * of reach longer than the lease); with an empty estimate (an admission whose answer was lost, which
 * Redis may never have applied) a lapsed lease stays lapsed.
 */
export const RENEW = `${PRELUDE}
local now = now_ms()
local leaseMs = tonumber(ARGV[1])
for p = 0, #KEYS / 2 - 1 do
  local zs, hs, id, est = KEYS[1 + 2 * p], KEYS[2 + 2 * p], ARGV[2 + 2 * p], ARGV[3 + 2 * p]
  if est ~= '' and not redis.call('ZSCORE', zs, id) then
    redis.call('ZADD', zs, now + leaseMs, id)
    redis.call('HSET', hs, id, est)
    if tonumber(est) ~= 0 then redis.call('HINCRBY', hs, '#held', est) end
  else
    redis.call('ZADD', zs, 'XX', now + leaseMs, id)
  end
  redis.call('PEXPIRE', zs, leaseMs * 3)
  redis.call('PEXPIRE', hs, leaseMs * 3)
end
return 1
`;
