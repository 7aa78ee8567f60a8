-- name: stored_files --
SELECT lake_key, size_bytes, sha256
  FROM files
 WHERE stored_at IS NOT NULL;

-- name: copy_stored_files --
COPY (SELECT lake_key, size_bytes, sha256 FROM files WHERE stored_at IS NOT NULL) TO STDOUT;

-- name: copy_stored_sizes --
COPY (SELECT lake_key, size_bytes, NULL FROM files WHERE stored_at IS NOT NULL) TO STDOUT;
