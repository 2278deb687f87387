-- A retry storm: one shopper, device id or address kept coming back after the rate
-- limiter refused it and said when to return (Retry-After). Counted for the sale, the
-- source remembered, and a shopper behind it flagged for the fraud report. Called once
-- per source per limiter period by the isolate that saw the storm (workers/queue/storms.ts),
-- so a storm costs Redis one command, not one per refused request.
--
-- KEYS
--   1  signals    hash: counters by rule (retry_storms_shopper, retry_storms_device, retry_storms_address)
--   2  flagged    hash: shopper -> comma-separated rules that flagged them
--   3  storms     hash: "<kind>:<value>" -> limiter periods in which it stormed
-- ARGV
--   1  kind: shopper | device | address
--   2  the source's value (shopper id, device id or address)
--   3  shopper to flag, "" for none (an address is a whole NAT: it flags nobody)
--   4  TTL of the three hashes, seconds
-- Returns the number of periods this source has stormed in.

local kind, value, shopper, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
redis.call('HINCRBY', KEYS[1], 'retry_storms_' .. kind, 1)
local periods = redis.call('HINCRBY', KEYS[3], kind .. ':' .. value, 1)
if shopper ~= '' then
  local seen = redis.call('HGET', KEYS[2], shopper)
  if not seen then
    redis.call('HSET', KEYS[2], shopper, 'retry_storms')
  elseif not string.find(',' .. seen .. ',', ',retry_storms,', 1, true) then
    redis.call('HSET', KEYS[2], shopper, seen .. ',retry_storms')
  end
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
return periods
