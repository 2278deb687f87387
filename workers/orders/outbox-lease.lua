-- The outbox drain's lease: trim or release only while the caller still holds it, so a
-- drain that overran its lease can neither drop events the next drain has not written
-- nor release that drain's lease. (An event applied twice is harmless; one trimmed
-- unwritten would be a lost order.)
-- KEYS 1 the lease   2 the outbox
-- ARGV 1 the holder's token   2 "trim" | "release"   3 how many events to trim from the head
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'trim' then
  redis.call('LTRIM', KEYS[2], tonumber(ARGV[3]), -1)
  return 1
end
redis.call('DEL', KEYS[1])
return 1
