-- name: list_users --
SELECT member.rolname, grp.rolname, member.rolcanlogin
  FROM pg_auth_members AS link
  JOIN pg_roles AS member ON member.oid = link.member
  JOIN pg_roles AS grp ON grp.oid = link.roleid
 WHERE grp.rolname = ANY(%(groups)s)
   AND member.rolname <> ALL(%(groups)s)
 ORDER BY member.rolname;

-- name: save_token --
INSERT INTO api_tokens (user_name, role, token_sha256)
VALUES (%(name)s, %(role)s, %(digest)s)
ON CONFLICT (user_name) DO UPDATE
SET role = EXCLUDED.role, token_sha256 = EXCLUDED.token_sha256, rotated_at = now();

-- name: delete_token --
DELETE FROM api_tokens WHERE user_name = %(name)s;
