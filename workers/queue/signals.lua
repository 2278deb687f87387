-- Bot signals at the queue's door: counted and flagged for the fraud report, never a
-- refusal (docs/queue.md "Bot signals"). Neither rule is proof; each is set so that the
-- honest crowd stays below it:
--   * one device id behind many accounts: a family's shared tablet is two, a farm is more;
--   * look-alike phones arriving in bulk on accounts created together: identical phones
--     alone are the honest crowd (one fingerprint per model), so the batch is keyed by
--     fingerprint AND the bucket of the accounts' creation time (KEYS[2]): a hundred
--     strangers on the same phone made their accounts on a hundred different days.
--
-- KEYS
--   1  accounts   set: shoppers who entered this sale with this device id
--   2  batch      zset: shopper -> ms, who entered lately with this fingerprint, account made in this bucket
--   3  signals    hash: counters by rule (shared_device_ids, lookalike_batches)
--   4  flagged    hash: shopper -> comma-separated rules that flagged them
-- ARGV
--   1  shopper id
--   2  now, ms
--   3  batch window, ms
--   4  batch size: this many accounts within the window is a batch
--   5  TTL of the device set, the counters and the flags, seconds
--   6  "1" when the client sent a device id (KEYS[1] is then its set), else "0"
--   7  accounts on one device id that make it shared
-- Returns {shared, batch}: how many accounts this entry flagged under each rule.
-- Re-entry by the same shopper changes nothing: both sets add members idempotently.
-- When a rule's threshold is crossed every account already in the set is flagged with
-- the one that crossed it, so a counter is the number of accounts the rule flagged.

local shopper, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = tonumber(ARGV[5])

-- 1 when `who` had not been flagged under `rule` before.
local function flag(who, rule)
  local seen = redis.call('HGET', KEYS[4], who)
  if not seen then
    redis.call('HSET', KEYS[4], who, rule)
  elseif not string.find(',' .. seen .. ',', ',' .. rule .. ',', 1, true) then
    redis.call('HSET', KEYS[4], who, seen .. ',' .. rule)
  else
    return 0
  end
  return 1
end

-- Flags everyone in `members` once the set has reached `threshold` (all of them on the
-- entry that reached it, only the newcomer after that) and counts the newly flagged
-- under `rule`, so a window that empties and fills again never counts an account twice.
local function flagSet(size, threshold, members, rule)
  if size < threshold then return 0 end
  local who = (size == threshold) and members() or {shopper}
  local fresh = 0
  for _, m in ipairs(who) do fresh = fresh + flag(m, rule) end
  if fresh > 0 then redis.call('HINCRBY', KEYS[3], rule, fresh) end
  return fresh
end

local shared, batch = 0, 0
if ARGV[6] == '1' then
  if redis.call('SADD', KEYS[1], shopper) == 1 then
    shared = flagSet(redis.call('SCARD', KEYS[1]), tonumber(ARGV[7]),
      function() return redis.call('SMEMBERS', KEYS[1]) end, 'shared_device_ids')
  end
  redis.call('EXPIRE', KEYS[1], ttl)
end

-- Only the window is kept, so a popular phone model costs memory for one window's arrivals.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZADD', KEYS[2], now, shopper) == 1 then
  batch = flagSet(redis.call('ZCARD', KEYS[2]), tonumber(ARGV[4]),
    function() return redis.call('ZRANGE', KEYS[2], 0, -1) end, 'lookalike_batches')
end
redis.call('PEXPIRE', KEYS[2], window)
if shared + batch > 0 then
  redis.call('EXPIRE', KEYS[3], ttl)
  redis.call('EXPIRE', KEYS[4], ttl)
end
return {shared, batch}
