-- The seed design's reference purchase script, kept as written there, as a baseline for
-- scripts/bench/purchase-script.ts. Not used by the product (workers/purchase/purchase.lua is).
--
-- KEYS
--   1  flash_stock:{sale_id}:{sku_id}   units still sellable (int)
--   2  user_limit:{sale_id}:{user_id}   units this shopper has bought (int, TTL 86400)
-- ARGV
--   1  user id
--   2  quantity
-- Returns {1, remaining} | {0, 'LIMIT_EXCEEDED'} | {0, 'SOLD_OUT'}
--
-- Unlike purchase.lua it decrements first and undoes on a negative result: safe because
-- the script is atomic, so no other decision ever sees the negative value.

-- Step 1: per-user purchase limit (2, fixed in the seed)
local user_purchased = redis.call('GET', KEYS[2])
if user_purchased and tonumber(user_purchased) >= 2 then
  return {0, 'LIMIT_EXCEEDED'}
end

-- Step 2: atomic stock decrement, undone when it went below zero
local remaining = redis.call('DECRBY', KEYS[1], ARGV[2])
if remaining < 0 then
  redis.call('INCRBY', KEYS[1], ARGV[2])
  return {0, 'SOLD_OUT'}
end

-- Step 3: record the shopper's purchase
redis.call('INCRBY', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], 86400)
return {1, remaining}
