"""The Lua scripts of the Redis shaping backend, run on the Redis server's clock.

Every script reads ``redis.call('TIME')``, so hosts with skewed clocks share one budget
correctly. Times inside Redis are integer microseconds (rates) or milliseconds (leases).
Each script answers ``{status, wait_ms}``: status 1 = granted, 0 = wait ``wait_ms``,
-1 = the budget is suspended for ``wait_ms`` more, -2 = only the tenant is.

GCRA (generic cell rate algorithm): a limit of ``count`` per ``period`` has an emission
interval ``T = period / count`` and a tolerance ``tau = (burst - 1) * T``. A request is
allowed when ``max(TAT, now) - tau <= now``; it then moves the theoretical arrival time
``TAT`` on by ``T``. So no window of length ``w`` sees more than ``burst + w / T`` grants.
"""

from __future__ import annotations

# Shared prelude: the server clock, and the longest suspension among KEYS[first..last]
# with its index.
_PRELUDE = """
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_ms = math.floor(now_us / 1000)
local function suspended(first, last)
  local longest, which = 0, 0
  for i = first, last do
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > longest then longest, which = ttl, i end
  end
  return longest, which
end
local function gcra_wait(key, interval, tolerance, qty)
  local tat = tonumber(redis.call('GET', key)) or now_us
  if tat < now_us then tat = now_us end
  local new_tat = tat + interval * qty
  local allow_at = new_tat - interval - tolerance
  if allow_at > now_us then return allow_at - now_us, new_tat end
  return 0, new_tat
end
"""

#: Take one message from every rate limit of a budget, all or nothing. When the budget is
#: free within ``reserve_us`` the slot is reserved and its delay returned with status 1
#: (the caller sleeps, then sends: one round trip per message, no herd of retries).
#: KEYS: nsusp suspension keys, then one key per limit.
#: ARGV: nsusp, qty, reserve_us, then (interval_us, tolerance_us) per limit.
MESSAGE = (
    _PRELUDE
    + """
local nsusp = tonumber(ARGV[1])
local qty = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local held, which = suspended(1, nsusp)
if held > 0 then return {which == 1 and -1 or -2, held} end
local wait, tats = 0, {}
for i = nsusp + 1, #KEYS do
  local a = 4 + (i - nsusp - 1) * 2
  local w, new_tat = gcra_wait(KEYS[i], tonumber(ARGV[a]), tonumber(ARGV[a + 1]), qty)
  if w > wait then wait = w end
  tats[i] = new_tat
end
if wait > reserve then return {0, math.ceil(wait / 1000)} end
for i = nsusp + 1, #KEYS do
  redis.call('SET', KEYS[i], tats[i], 'PX', math.ceil((tats[i] - now_us) / 1000) + 1000)
end
return {1, math.ceil(wait / 1000)}
"""
)

#: Open a connection: a lease in the budget's sorted set plus one connection-open token.
#: KEYS: leases zset, connection-rate key, nsusp suspension keys.
#: ARGV: limit, lease_ms, lease_id, interval_us (0 = no rate), tolerance_us.
CONNECT = (
    _PRELUDE
    + """
local held = suspended(3, #KEYS)
if held > 0 then return {-1, held} end
local leases, limit, lease_ms, id = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now_ms)
if redis.call('ZSCORE', leases, id) then return {1, 0} end
if redis.call('ZCARD', leases) >= limit then
  if limit <= 0 then return {0, lease_ms} end
  local oldest = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) - now_ms)}
end
local interval = tonumber(ARGV[4])
local new_tat = nil
if interval > 0 then
  local w
  w, new_tat = gcra_wait(KEYS[2], interval, tonumber(ARGV[5]), 1)
  if w > 0 then return {0, math.ceil(w / 1000)} end
  redis.call('SET', KEYS[2], new_tat, 'PX', math.ceil((new_tat - now_us) / 1000) + 1000)
end
redis.call('ZADD', leases, now_ms + lease_ms, id)
redis.call('PEXPIRE', leases, lease_ms * 2)
return {1, 0}
"""
)

#: Extend live leases (re-adding any that Redis lost, e.g. after a restart).
#: KEYS: leases zset per lease. ARGV: lease_ms, then one lease id per key.
EXTEND = (
    _PRELUDE
    + """
local lease_ms = tonumber(ARGV[1])
local lost = 0
for i = 1, #KEYS do
  if redis.call('ZADD', KEYS[i], now_ms + lease_ms, ARGV[i + 1]) == 1 then lost = lost + 1 end
  redis.call('PEXPIRE', KEYS[i], lease_ms * 2)
end
return {1, lost}
"""
)

#: Count the unexpired leases of a budget. KEYS: leases zset.
COUNT = (
    _PRELUDE
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
return {redis.call('ZCARD', KEYS[1]), 0}
"""
)

#: Count one match of a provider rule; status 1 once ``count`` matches (of every host)
#: fall within ``period_ms``, and the count starts again. KEYS: the rule's matches zset.
#: ARGV: period_ms, count, a member unique to this match.
THRESHOLD = (
    _PRELUDE
    + """
local period = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - period)
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return {1, 0}
end
redis.call('PEXPIRE', KEYS[1], period)
return {0, 0}
"""
)
