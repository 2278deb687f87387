-- Reconciliation's repair of one reservation Redis forgot or holds wrongly, from what
-- Postgres holds (after a failover lost recent writes). Never touches stock: the stock
-- counters are set afterwards from Postgres's totals (reconcile-stock.lua).
--
-- KEYS
--   1  reservation   the reservation hash
--   2  bought        units of the SKU its shopper holds
--   3  device        the device record of its purchase
--   4  deadlines     zset token -> payment deadline (ms)
--   5  counters      live unit counts
-- ARGV
--   1  action: restore (Redis has no hash: write it back as Postgres holds it)
--              | adopt (Redis says reserved, Postgres a final state: take Postgres's)
--   2  the state Postgres holds: reserved | paid (restore), paid | cancelled | expired (adopt)
--   3  token   4 order id   5 shopper   6 sku   7 quantity   8 price
--   9  payment deadline (ms)   10 reserved at (ms)   11 device ("" if none)   12 now (ms)
-- Returns {"RESTORED"} | {"ADOPTED", previous_state} | {"EXISTS", state} | {"NOT_FOUND"}
--         | {"ALREADY", state} | {"CONFLICT", state}

local action, state, token = ARGV[1], ARGV[2], ARGV[3]
local user, qty, device = ARGV[5], tonumber(ARGV[7]), ARGV[11]
local holds = { reserved = true, paid = true }

if action == 'restore' then
  local current = redis.call('HGET', KEYS[1], 'state')
  if current then return {'EXISTS', current} end
  if not holds[state] then return redis.error_reply('ERR restore takes reserved or paid, not ' .. state) end
  redis.call('HSET', KEYS[1], 'order_id', ARGV[4], 'user', user, 'sku', ARGV[6], 'qty', qty, 'price', ARGV[8],
    'deadline_ms', ARGV[9], 'reserved_ms', ARGV[10], 'state', state, 'device', device, 'restored_ms', ARGV[12])
  -- A live reservation waits for its deadline again; both kinds count against the
  -- shopper's limit and their device, as the purchase script had made them.
  if state == 'reserved' then redis.call('ZADD', KEYS[4], tonumber(ARGV[9]), token) end
  redis.call('INCRBY', KEYS[2], qty)
  if device ~= '' and redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], user) end
  redis.call('HINCRBY', KEYS[5], state, qty)
  return {'RESTORED'}
end

if action == 'adopt' then
  local r = redis.call('HMGET', KEYS[1], 'state', 'user', 'sku')
  local current = r[1]
  if not current then return {'NOT_FOUND'} end
  if r[2] ~= user or r[3] ~= ARGV[6] then return {'NOT_FOUND'} end
  if current == state then return {'ALREADY', current} end
  -- Only a reservation Redis still thinks is open takes Postgres's final state: any
  -- other disagreement is for a person to look at, not for a script to guess.
  if current ~= 'reserved' or state == 'reserved' then return {'CONFLICT', current} end
  redis.call('HSET', KEYS[1], 'state', state, state .. '_ms', ARGV[12])
  redis.call('ZREM', KEYS[4], token)
  if not holds[state] then
    local left = redis.call('DECRBY', KEYS[2], qty)
    if left <= 0 then redis.call('DEL', KEYS[2]) end
    if device ~= '' and redis.call('GET', KEYS[3]) == user then redis.call('DEL', KEYS[3]) end
  end
  redis.call('HINCRBY', KEYS[5], current, -qty)
  redis.call('HINCRBY', KEYS[5], state, qty)
  return {'ADOPTED', current}
end

return redis.error_reply('ERR unknown reconcile action ' .. tostring(action))
