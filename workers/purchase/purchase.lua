-- The purchase decision: one atomic script, one Redis command per Buy click.
--
-- KEYS
--   1  meta          sale hash: start_ms, end_ms, cancelled, payment_deadline_s
--   2  item          SKU hash: price, limit
--   3  stock         units of the SKU still sellable (int)
--   4  bought        units of the SKU this shopper holds (int)
--   5  device        the shopper who purchased from this device in this sale (string)
--   6  idempotency   the first answer to this shopper's Idempotency-Key (string, see step 1)
--   7  reservation   the reservation this purchase would create (hash)
--   8  deadlines     zset reservation token -> payment deadline (ms)
--   9  outbox        list of order events waiting for Postgres
--   10 counters      hash of live unit counts
--   11 signals       hash of bot-signal counters (workers/queue/signals.ts)
--   12 flagged       hash shopper -> rules that flagged them
--   13 turns         zset shopper -> queue position, of turns that reserved
-- ARGV
--   1  user id (the admission token's subject)
--   2  sku id
--   3  quantity (integer >= 1; the caller refused anything else)
--   4  now, ms, by the Worker's clock: the sale window is judged by the server, never the client
--   5  request hash (SHA-256 of the canonical body), to tell a retry from a different request
--   6  reservation token (fresh; used only if this call reserves)
--   7  order id (fresh; used only if this call reserves)
--   8  device id from the admission token (the page's own id, or its fingerprint; "" when none)
--   9  idempotency record TTL, seconds (a refusal keeps its record only until shortly after the sale)
--   10 idempotency key (recorded with the order)
--   11 sale id
--   12 when the shopper's turn came: the admission token's mint time, ms ("" when unknown)
--   13 fast purchase: a reservation sooner than this many ms after the turn (or the start) is flagged
--   14 TTL of the signal hashes, seconds
--   15 request id (recorded with the order, so its logs lead to its row)
--   16 the shopper's queue position from the admission token ("" when unknown)
-- Returns one of
--   {"RESERVED", remaining, token, order_id, deadline_ms, price}
--   {"SOLD_OUT", remaining} | {"LIMIT_EXCEEDED", reason}
--   {"CONFLICT"} | {"NOT_ACTIVE", why} | {"NOT_LOADED"} | {"UNKNOWN_SKU"} | {"OVER_LIMIT", limit}
-- A replayed Idempotency-Key returns its first answer with "REPLAY" appended.

local user, sku, qty, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local request_hash = ARGV[5]
local device = ARGV[8]

-- Every string a decision reads, in one command: the idempotency record, the stock, the
-- units this shopper holds and the device's buyer. Each refusal below is still judged in
-- the documented order (docs/purchase.md), only the reads are gathered. Reads only:
-- nothing is written before a decision is made. (The crowd's click on a sold-out SKU
-- usually never gets here: workers/purchase/sold-out.ts answers it without a script.)
local read = redis.call('MGET', KEYS[6], KEYS[3], KEYS[4], KEYS[5])
local seen = read[1]

-- 1. Idempotency first: a retry (the client's, or @upstash/redis's own after a lost
-- response) must get the first answer, not a second decision. The record is one string,
-- "<request hash>\n<answer fields joined by \n>" (fields never hold a newline: tags,
-- numbers, uuids, base64url tokens, a price), so reading it is a GET, writing it one SET.
if seen then
  local answer = {}
  for field in string.gmatch(seen, '[^\n]+') do answer[#answer + 1] = field end
  if table.remove(answer, 1) ~= request_hash then return {'CONFLICT'} end
  answer[#answer + 1] = 'REPLAY'
  return answer
end

-- 2. The sale window and state, by the server's clock.
local meta = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'cancelled', 'payment_deadline_s')
if not meta[1] then return {'NOT_LOADED'} end
if meta[3] == '1' then return {'NOT_ACTIVE', 'cancelled'} end
if now < tonumber(meta[1]) then return {'NOT_ACTIVE', 'not_started'} end
if now >= tonumber(meta[2]) then return {'NOT_ACTIVE', 'ended'} end

-- Answers from here on are final decisions and are remembered for the key, in one SET
-- with its expiry. A reservation is remembered for the full TTL (the shopper may retry
-- to learn its token); a refusal only until ten minutes after the sale ends, when a
-- retry could change nothing anyway, so a million sold-out clicks do not hold memory
-- for a day.
local function remember(answer)
  local ttl = tonumber(ARGV[9])
  if answer[1] ~= 'RESERVED' then
    ttl = math.max(60, math.min(ttl, math.ceil((tonumber(meta[2]) - now) / 1000) + 600))
  end
  redis.call('SET', KEYS[6], request_hash .. '\n' .. table.concat(answer, '\n'), 'EX', ttl)
  return answer
end

-- The shopper's queue turn is decided (it reserved, or its device already bought): the
-- queue stops counting it against the room the units left allow (durable-objects/queue/
-- rules.ts), so a queue whose admitted shoppers have all decided does not stall until
-- their windows pass. NX: a second SKU bought on the same turn is the same turn.
local function decide_turn()
  local position = tonumber(ARGV[16])
  if position then
    redis.call('ZADD', KEYS[13], 'NX', position, user)
    redis.call('EXPIRE', KEYS[13], tonumber(ARGV[14]))
  end
end

local stock = tonumber(read[2] or '0')
local held = tonumber(read[3] or '0')
local device_taken = device ~= '' and read[4]

local item = redis.call('HMGET', KEYS[2], 'price', 'limit')
if not item[1] then return {'UNKNOWN_SKU'} end
local limit = tonumber(item[2])
-- Asking for more than anyone may hold is a malformed business request (422), not an answer.
if qty > limit then return {'OVER_LIMIT', limit} end

-- 3. Per-shopper-per-SKU limit.
if held + qty > limit then return remember({'LIMIT_EXCEEDED', 'per_user_limit'}) end

-- 4. One purchase per device per sale.
-- The device is bound to the admission token, so this turn can never buy: it is decided.
if device_taken then
  decide_turn()
  return remember({'LIMIT_EXCEEDED', 'device'})
end

-- 5. Stock. Checked before it is decremented, inside this one script, so stock can
-- never go below zero and no undo is ever needed: nothing else runs between the read
-- and the DECRBY. A missing key reads as 0: a sale that was never loaded sells nothing.
if stock < qty then return remember({'SOLD_OUT', stock}) end
local remaining = redis.call('DECRBY', KEYS[3], qty)

-- 6. The reservation, its deadline, and the order for Postgres. The outbox entry is
-- written in the same atomic step as the decrement, so a unit taken from stock always
-- has an order waiting to be written: an order cannot be lost between Redis and Postgres.
local token, order_id = ARGV[6], ARGV[7]
local deadline = now + tonumber(meta[4]) * 1000
redis.call('INCRBY', KEYS[4], qty)
if device ~= '' then redis.call('SET', KEYS[5], user) end
redis.call('HSET', KEYS[7],
  'order_id', order_id, 'user', user, 'sku', sku, 'qty', qty, 'price', item[1],
  'deadline_ms', deadline, 'reserved_ms', now, 'state', 'reserved', 'device', device)
redis.call('ZADD', KEYS[8], deadline, token)
redis.call('RPUSH', KEYS[9], cjson.encode({
  t = 'reserved', order_id = order_id, sale_id = ARGV[11], user_id = user, sku_id = sku,
  quantity = qty, price = item[1], token = token, deadline_ms = deadline, at_ms = now,
  idempotency_key = ARGV[10], device = device, request_id = ARGV[15],
}))
redis.call('HINCRBY', KEYS[10], 'reserved', qty)
decide_turn()

-- 7. Bot signal: a reservation faster than a person can see Buy and press it. The clock
-- starts at the later of the turn and the sale's start (a turn given before the start
-- shows Buy only at the start). Counted and flagged, never refused; on the reserved path
-- only, so refusals still write nothing and a reservation pays a few writes more.
local admitted = tonumber(ARGV[12])
if admitted and now - math.max(admitted, tonumber(meta[1])) < tonumber(ARGV[13]) then
  local seen = redis.call('HGET', KEYS[12], user)
  if not seen then
    redis.call('HSET', KEYS[12], user, 'fast_purchases')
  elseif not string.find(',' .. seen .. ',', ',fast_purchases,', 1, true) then
    redis.call('HSET', KEYS[12], user, seen .. ',fast_purchases')
  end
  redis.call('HINCRBY', KEYS[11], 'fast_purchases', 1)
  redis.call('EXPIRE', KEYS[11], tonumber(ARGV[14]))
  redis.call('EXPIRE', KEYS[12], tonumber(ARGV[14]))
end
return remember({'RESERVED', remaining, token, order_id, deadline, item[1]})
