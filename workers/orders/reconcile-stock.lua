-- Reconciliation's correction of a sale's stock counters to Postgres's truth
-- (loaded − reserved − paid per SKU, never below 0), only if nothing moved since the
-- totals were read. Every purchase, payment, cancel and expiry pushes an event onto the
-- outbox in the same step as it changes stock, and only the lease holder (reconcile,
-- here) trims it; so an outbox of the expected length means no decision the totals miss.
--
-- KEYS  1 the outbox lease   2 the outbox   3 the sale meta   4.. each SKU's stock
-- ARGV  1 the lease holder's token   2 the outbox length the totals include
--       3.. the stock each KEYS[3 + i] must hold
-- Returns {"OK", previous stock per SKU (-1 if absent)...} | {"LEASE_LOST"} | {"MOVED", length}
--         | {"NOT_LOADED"}

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'LEASE_LOST'} end
local length = redis.call('LLEN', KEYS[2])
if length ~= tonumber(ARGV[2]) then return {'MOVED', length} end
-- A sale Redis does not hold is loaded by pre-warming (which subtracts what Postgres
-- holds as sold); writing stock keys alone would make half a sale.
if not redis.call('HGET', KEYS[3], 'prewarmed_at') then return {'NOT_LOADED'} end
local before = {'OK'}
for i = 4, #KEYS do
  table.insert(before, tonumber(redis.call('GET', KEYS[i]) or '-1'))
  redis.call('SET', KEYS[i], ARGV[i - 1])
end
return before
