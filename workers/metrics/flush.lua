-- One isolate's metrics for one sale, added in one command: every counter the isolate
-- kept in memory since its last flush, for each bucket (second, minute, total) at once.
--
-- KEYS   1 the sale's meta hash; 2.. the buckets, each a hash of counters
-- ARGV   for each bucket in order: its TTL in seconds, the number of fields n, then n
--        pairs of field and amount
-- Returns the number of fields added to; 0 when the sale is not in Redis. Paths name
-- sales, so a crowd asking for made-up sale ids must not make Redis keep keys for them:
-- only a loaded sale (pre-warmed, not yet retired) is counted.
--
-- HINCRBY only: two isolates flushing the same second add up, and a flush retried after
-- a lost reply can at worst count one second's figures twice, never lose them.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local at, added = 1, 0
for i = 2, #KEYS do
  local key = KEYS[i]
  local ttl, n = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  for _ = 1, n do
    redis.call('HINCRBY', key, ARGV[at], tonumber(ARGV[at + 1]))
    at = at + 2
    added = added + 1
  end
  redis.call('EXPIRE', key, ttl)
end
return added
