-- The outbox drain's lease: trim or release only while the caller still holds it, so a
-- drain that overran its lease can neither drop events the next drain has not written
-- nor release that drain's lease. (An event applied twice is harmless; one trimmed
-- unwritten would be a lost order.)
-- KEYS 1 the lease   2 the outbox
-- ARGV 1 the holder's token   2 "trim" | "release"   3 how many events to trim from the head
--      4, 5 (trim) identity ("<t>:<order_id>") of the first and last event the caller wrote
-- Returns 1 done, 0 lease lost, -1 (trim) the head is not the batch the caller wrote.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'trim' then
  -- The batch was read with a plain LRANGE, which a replicated database may answer from a
  -- replica behind the primary: trim only if the head here is exactly what was written.
  local n = tonumber(ARGV[3])
  local head = redis.call('LRANGE', KEYS[2], 0, n - 1)
  local function identity(raw)
    local ok, e = pcall(cjson.decode, raw)
    if ok and type(e) == 'table' then return tostring(e.t or '') .. ':' .. tostring(e.order_id or '') end
    return raw
  end
  if #head ~= n or identity(head[1]) ~= ARGV[4] or identity(head[n]) ~= ARGV[5] then return -1 end
  redis.call('LTRIM', KEYS[2], n, -1)
  return 1
end
redis.call('DEL', KEYS[1])
return 1
