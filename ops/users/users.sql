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

-- name: role_dependencies --
-- What keeps DROP ROLE from succeeding: objects the role owns and privileges granted to it,
-- in this database, then a count per other database (their objects are not visible here).
SELECT CASE dep.deptype WHEN 'o' THEN 'owns ' ELSE 'holds privileges on ' END
       || pg_describe_object(dep.classid, dep.objid, dep.objsubid)
  FROM pg_shdepend AS dep
  JOIN pg_roles AS r ON r.oid = dep.refobjid
 WHERE r.rolname = %(name)s
   AND dep.refclassid = 'pg_authid'::regclass
   AND dep.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
UNION ALL
-- shared objects: a database or tablespace the role owns (dbid 0)
SELECT 'owns ' || pg_describe_object(dep.classid, dep.objid, dep.objsubid)
  FROM pg_shdepend AS dep
  JOIN pg_roles AS r ON r.oid = dep.refobjid
 WHERE r.rolname = %(name)s
   AND dep.refclassid = 'pg_authid'::regclass
   AND dep.dbid = 0
UNION ALL
SELECT 'has ' || count(*) || ' object(s) or privilege(s) in database ' || db.datname
  FROM pg_shdepend AS dep
  JOIN pg_roles AS r ON r.oid = dep.refobjid
  JOIN pg_database AS db ON db.oid = dep.dbid
 WHERE r.rolname = %(name)s
   AND dep.refclassid = 'pg_authid'::regclass
   AND db.datname <> current_database()
 GROUP BY db.datname
 ORDER BY 1;
