-- Bot signals at the queue's door: counted for the sale's metrics, never a refusal.
-- One id shared by several accounts, or one fingerprint arriving from a crowd of
-- accounts in a short time, is worth a look; neither is proof (docs/queue.md "Devices").
--
-- KEYS
--   1  accounts   set: shoppers who entered this sale with this device id
--   2  crowd      zset: shopper -> ms, who entered lately with this fingerprint
--   3  signals    hash: shared_device_id, crowded_fingerprint (entries counted as signals)
-- ARGV
--   1  shopper id
--   2  now, ms
--   3  crowd window, ms
--   4  crowd size: this many accounts on one fingerprint within the window is a signal
--   5  TTL of the device set and the signals hash, seconds
--   6  "1" when the client sent a device id (KEYS[1] is then its set), else "0"
-- Returns {shared, crowded}: 1 when this entry was counted as that signal, else 0.
-- Re-entry by the same shopper is not counted twice: both sets add members idempotently.

local shopper, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = tonumber(ARGV[5])
local shared, crowded = 0, 0

if ARGV[6] == '1' then
  if redis.call('SADD', KEYS[1], shopper) == 1 and redis.call('SCARD', KEYS[1]) > 1 then
    redis.call('HINCRBY', KEYS[3], 'shared_device_id', 1)
    shared = 1
  end
  redis.call('EXPIRE', KEYS[1], ttl)
end

-- Only the window is kept, so a popular phone model costs memory for one window's arrivals.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZADD', KEYS[2], now, shopper) == 1 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  redis.call('HINCRBY', KEYS[3], 'crowded_fingerprint', 1)
  crowded = 1
end
redis.call('PEXPIRE', KEYS[2], window)
redis.call('EXPIRE', KEYS[3], ttl)
return {shared, crowded}
