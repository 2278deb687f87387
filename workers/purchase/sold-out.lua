-- The crowd's click once a SKU's units are gone: the same answer purchase.lua would give,
-- for a fraction of its cost in Redis (docs/purchase.md "The crowd's path"). It answers
-- only when every refusal purchase.lua checks before stock cannot apply; otherwise it
-- writes nothing and says FULL, and the caller runs purchase.lua.
--
-- KEYS
--   1  meta          sale hash: start_ms, end_ms, cancelled
--   2  stock         units of the SKU still sellable (int)
--   3  bought        units of the SKU this shopper holds (int)
--   4  device        the shopper who purchased from this device in this sale (string)
--   5  idempotency   the first answer to this shopper's Idempotency-Key (purchase.lua's format)
-- ARGV
--   1  quantity   2  now, ms   3  request hash   4  device id ("" when none)
--   5  idempotency record TTL, seconds
-- Returns {"SOLD_OUT", remaining}, remembered as purchase.lua remembers it, or {"FULL"}.

if ARGV[1] ~= '1' then return {'FULL'} end
local read = redis.call('MGET', KEYS[5], KEYS[2], KEYS[3], KEYS[4])
-- A retry (its first answer is purchase.lua's to replay), a SKU never loaded (its stock key
-- is missing: unknown SKU or sale), units back in stock, units held (the limit may be the
-- answer) or a device that already bought (the device rule is): purchase.lua decides.
-- One unit with none held never exceeds a limit (per_user_limit >= 1).
if read[1] or not read[2] or tonumber(read[2]) >= 1 then return {'FULL'} end
if tonumber(read[3] or '0') > 0 or (ARGV[4] ~= '' and read[4]) then return {'FULL'} end

local now = tonumber(ARGV[2])
local meta = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'cancelled')
if not meta[1] or meta[3] == '1' or now < tonumber(meta[1]) or now >= tonumber(meta[2]) then
  return {'FULL'}
end

-- Remembered exactly as purchase.lua's remember() does for a refusal: one string, kept
-- until ten minutes after the sale ends, so a retry hears sold out even if a unit returns.
local ttl = math.max(60, math.min(tonumber(ARGV[5]), math.ceil((tonumber(meta[2]) - now) / 1000) + 600))
redis.call('SET', KEYS[5], ARGV[3] .. '\nSOLD_OUT\n' .. read[2], 'EX', ttl)
return {'SOLD_OUT', tonumber(read[2])}
