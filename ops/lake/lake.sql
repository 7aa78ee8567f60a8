-- name: stored_files --
SELECT lake_key, size_bytes, sha256
  FROM files
 WHERE stored_at IS NOT NULL;
