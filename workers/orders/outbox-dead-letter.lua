-- Sets aside the event Postgres refuses, in one step with the trim of the events written
-- ahead of it, and only while the caller holds the drain's lease: the culprit is then
-- either still at the outbox's head or in the dead-letter list, never neither (lost)
-- nor both (written twice to the list by two drains).
-- KEYS 1 the lease   2 the outbox   3 the sale's dead-letter list
-- ARGV 1 the holder's token   2 events written ahead of the culprit (trimmed first)
--      3 why Postgres refused it   4 when (ms)
--      5 identity ("<t>:<order_id>") of the culprit as the caller read it
-- Returns 1 when the culprit was moved, 0 when the lease was lost, -1 when the culprit is
-- not at the place the caller read it (a lagging replica answered the read); nothing changed.
local lease, outbox, deadLetter = KEYS[1], KEYS[2], KEYS[3]
local holder, written, reason, atMs = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])

if redis.call('GET', lease) ~= holder then return 0 end
local function identity(raw)
  local ok, e = pcall(cjson.decode, raw)
  if ok and type(e) == 'table' then return tostring(e.t or '') .. ':' .. tostring(e.order_id or '') end
  return raw
end
local culprit = redis.call('LINDEX', outbox, written)
if not culprit or identity(culprit) ~= ARGV[5] then return -1 end
if written > 0 then redis.call('LTRIM', outbox, written, -1) end
local event = redis.call('LPOP', outbox)
-- The event is kept byte for byte as the purchase script wrote it, to be read and replayed by hand.
if event then
  redis.call('RPUSH', deadLetter, cjson.encode({ event = event, error = reason, at_ms = atMs }))
end
return 1
