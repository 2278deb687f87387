-- One isolate's metrics for one sale, added in one command: every counter the isolate
-- kept in memory since its last flush, for each bucket (second, minute, total) at once.
--
-- KEYS   1 the sale's meta hash; 2 the hash of flushes applied in the flush's minute;
--        3.. the buckets, each a hash of counters
-- ARGV   1 the flush's id; 2 how long the flush hash is kept, seconds; then for each
--        bucket in order: its TTL in seconds, the number of fields n, then n pairs of
--        field and amount
-- Returns the number of fields added to; 0 when the sale is not in Redis, -1 when this
-- flush was applied already. Paths name sales, so a crowd asking for made-up sale ids
-- must not make Redis keep keys for them: only a loaded sale (pre-warmed, not yet
-- retired) is counted.
--
-- HINCRBY adds up: two isolates flushing the same second add up. A flush whose reply was
-- lost (a timeout after Redis applied it) is sent again under the same id, and the id is
-- what keeps it from counting the same requests twice.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return -1 end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
local at, added = 3, 0
for i = 3, #KEYS do
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
