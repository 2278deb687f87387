-- Reads a reservation where it was written. A script runs on the primary, while a plain
-- HGETALL on a replicated Upstash database may be answered by a replica that has not yet
-- received a reservation made a moment ago by another request (another client, so no
-- read-your-writes sync token to wait for).
-- KEYS 1 the reservation hash
-- Returns the hash as a flat [field, value, ...] list (empty when there is none).
return redis.call('HGETALL', KEYS[1])
