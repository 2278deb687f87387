-- A reservation's one-way step out of `reserved`: confirm (paid), cancel, or expire.
-- All three run here, atomically, so when payment and the deadline race on one
-- reservation exactly one of them wins, and units go back to stock at most once.
--
-- KEYS
--   1  reservation   the reservation hash
--   2  stock         its SKU's stock
--   3  bought        units of the SKU its shopper holds
--   4  device        the device record of its purchase
--   5  deadlines     zset token -> payment deadline (ms)
--   6  outbox        order events waiting for Postgres
--   7  counters      live unit counts
--   8  payment       the order paid with this payment method in this sale, if any
--   9  address       the shopper who had this (normalised) shipping address in this sale, if any
--   10 turns         the queue's decided turns (shopper -> position)
-- ARGV
--   1  action: confirm | cancel | expire | void (reconciliation cancels an oversold reserved or
--      paid order without returning stock: those units never existed) | revoke (the fraud
--      review cancels a reserved or paid order and its units go back on sale)
--   2  now, ms, by the Worker's clock
--   3  reservation token
--   4  acting shopper ("" when the shop's back end or the sweeper acts)
--   5  sale id
--   6  payment method fingerprint (confirm only, may be "")
--   7  shipping address (confirm only, may be "")
--   8  the sku the caller built KEYS from, 9 the shopper it built them from
--   10 "1" when a payment method was given (KEYS[8] names it), 11 "1" when an address was given
-- Returns
--   {"OK", new_state} | {"ALREADY", state} | {"EXPIRED"} | {"NOT_FOUND"} | {"FORBIDDEN"}
--   {"CONFLICT", state} | {"NOT_DUE"} | {"FRAUD", "payment_method" | "shipping_address"}

local action, now, token, actor = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local r = redis.call('HMGET', KEYS[1], 'state', 'user', 'sku', 'qty', 'deadline_ms', 'device', 'order_id')
local state, user, sku, qty, deadline, device, order_id = r[1], r[2], r[3], tonumber(r[4]), tonumber(r[5]), r[6], r[7]
if not state then return {'NOT_FOUND'} end
-- KEYS were derived from a read made before this script ran; they must still name this
-- reservation's own stock and holder, or the script would move someone else's units.
if sku ~= ARGV[8] or user ~= ARGV[9] then return {'NOT_FOUND'} end
if actor ~= '' and actor ~= user then return {'FORBIDDEN'} end

local function finish(new_state, give_back, extra_field, extra_value)
  local fields = {'state', new_state, new_state .. '_ms', now}
  if extra_field then table.insert(fields, extra_field); table.insert(fields, extra_value) end
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('ZREM', KEYS[5], token)
  redis.call('HINCRBY', KEYS[7], state, -qty)
  redis.call('HINCRBY', KEYS[7], new_state, qty)
  if give_back then
    -- Units return exactly once: only a reservation still in `reserved` gets here, and
    -- this step moves it out of `reserved` in the same atomic script.
    redis.call('INCRBY', KEYS[2], qty)
    local left = redis.call('DECRBY', KEYS[3], qty)
    if left <= 0 then
      redis.call('DEL', KEYS[3])
      -- Holding nothing, the shopper's turn is undecided again (it may buy once more while
      -- its window lasts): it counts against the queue's room as before it reserved, so a
      -- unit coming back goes to the turns still open, not to one more shopper besides them.
      redis.call('ZREM', KEYS[10], user)
    end
    if device ~= '' and redis.call('GET', KEYS[4]) == user then redis.call('DEL', KEYS[4]) end
  end
  local event = { t = new_state, order_id = order_id, sale_id = ARGV[5], token = token, at_ms = now }
  if extra_field == 'cancel_reason' then event.cancel_reason = extra_value end
  if new_state == 'paid' then
    event.payment_method_fingerprint = ARGV[6]
    event.shipping_address = ARGV[7]
  end
  redis.call('RPUSH', KEYS[6], cjson.encode(event))
  return {'OK', new_state}
end

if action == 'void' and state == 'paid' then
  return finish('cancelled', false, 'cancel_reason', 'oversold')
end
-- A paid order found fraudulent: its units were real, so they go back to stock, and the
-- shopper's hold and device are freed as a cancel frees them (units return exactly once:
-- the order leaves `paid` in this same step).
if action == 'revoke' and state == 'paid' then
  return finish('cancelled', true, 'cancel_reason', 'fraud')
end

if state ~= 'reserved' then
  if (action == 'confirm' and state == 'paid') or (action == 'cancel' and state == 'cancelled')
    or (action == 'expire' and state == 'expired') or (action == 'void' and state == 'cancelled')
    or (action == 'revoke' and state == 'cancelled') then
    return {'ALREADY', state}
  end
  if action == 'confirm' and state == 'expired' then return {'EXPIRED'} end
  return {'CONFLICT', state}
end

if action == 'confirm' then
  -- Payment at or after the deadline loses to the deadline: the units go back.
  if now >= deadline then
    finish('expired', true)
    return {'EXPIRED'}
  end
  -- The fraud rules (docs/purchase.md "Fraud rules at payment"): one purchase per payment method per sale, and one shopper
  -- per shipping address. A refused confirm changes nothing: the reservation waits, and
  -- the shop may take another payment before the deadline.
  local pm, addr = ARGV[6], ARGV[7]
  if ARGV[10] == '1' then
    local holder = redis.call('GET', KEYS[8])
    if holder and holder ~= order_id then return {'FRAUD', 'payment_method'} end
  end
  if ARGV[11] == '1' then
    local holder = redis.call('GET', KEYS[9])
    if holder and holder ~= user then return {'FRAUD', 'shipping_address'} end
  end
  if ARGV[10] == '1' then redis.call('SET', KEYS[8], order_id) end
  if ARGV[11] == '1' then redis.call('SET', KEYS[9], user) end
  if pm ~= '' then redis.call('HSET', KEYS[1], 'payment_method', pm) end
  if addr ~= '' then redis.call('HSET', KEYS[1], 'shipping_address', addr) end
  return finish('paid', false)
elseif action == 'cancel' then
  -- Past the deadline the reservation is expired whoever acts first, so a late cancel
  -- reads the same as a late read or confirm; the units still go back, once.
  if now >= deadline then
    finish('expired', true)
    return {'EXPIRED'}
  end
  return finish('cancelled', true)
elseif action == 'expire' then
  if now < deadline then return {'NOT_DUE'} end
  return finish('expired', true)
elseif action == 'void' then
  return finish('cancelled', false, 'cancel_reason', 'oversold')
elseif action == 'revoke' then
  return finish('cancelled', true, 'cancel_reason', 'fraud')
end
return redis.error_reply('ERR unknown reservation action ' .. tostring(action))
