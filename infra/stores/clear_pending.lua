-- After a commit, forget the pending entries it made durable (see forget.lua).
--
-- KEYS[1] pending namespaces (sorted set)
-- ARGV[1] the committed ops as triples (see triples.lua): namespace text, key, version.
return forget_pending(ARGV[1], KEYS[1])
