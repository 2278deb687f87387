-- Pre-warm one sale: its definition and stock into Redis, all or nothing, once.
--
-- KEYS[1]          fs:{sale}:meta
-- KEYS[2i]         fs:{sale}:item:{sku_i}     for i = 1..n
-- KEYS[2i+1]       fs:{sale}:stock:{sku_i}
-- ARGV[1..7]       start_ms, end_ms, cancelled (0|1), payment_deadline_s, skus (comma list),
--                  prewarmed_at (ms), sale name
-- ARGV[8+7(i-1)..] per SKU i: name, price, original_price, total, loaded, limit, stock
--                  (loaded is what the sale offers in all; stock is loaded minus what
--                  Postgres already holds as sold, so a reload never resells a unit)
--
-- Returns {1, prewarmed_at} when it loaded the sale, {0, prewarmed_at of the first load}
-- when the sale was already loaded.
--
-- The guard is meta.prewarmed_at, written in the same script as the stock: once it is
-- there, the stock keys have been handed to the purchase script and may have been
-- decremented, so loading again would resell sold units. The meta hash can exist
-- without prewarmed_at only when the sale was cancelled before it was ever loaded
-- (cancel writes cancelled=1 on its own); that flag is kept, never cleared here.

local meta = KEYS[1]
local first = redis.call('HGET', meta, 'prewarmed_at')
if first then
  return {0, first}
end

local cancelled = ARGV[3]
if redis.call('HGET', meta, 'cancelled') == '1' then
  cancelled = '1'
end

local n = (#KEYS - 1) / 2
for i = 1, n do
  local a = 7 + (i - 1) * 7
  redis.call('HSET', KEYS[2 * i],
    'name', ARGV[a + 1], 'price', ARGV[a + 2], 'original_price', ARGV[a + 3],
    'total', ARGV[a + 4], 'loaded', ARGV[a + 5], 'limit', ARGV[a + 6])
  redis.call('SET', KEYS[2 * i + 1], ARGV[a + 7])
end

redis.call('HSET', meta,
  'start_ms', ARGV[1], 'end_ms', ARGV[2], 'cancelled', cancelled,
  'payment_deadline_s', ARGV[4], 'skus', ARGV[5], 'prewarmed_at', ARGV[6], 'name', ARGV[7])
return {1, ARGV[6]}
