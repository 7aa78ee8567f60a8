-- name: list_users --
SELECT member.rolname, grp.rolname, member.rolcanlogin
  FROM pg_auth_members AS link
  JOIN pg_roles AS member ON member.oid = link.member
  JOIN pg_roles AS grp ON grp.oid = link.roleid
 WHERE grp.rolname = ANY(%(groups)s)
   AND member.rolname <> ALL(%(groups)s)
 ORDER BY member.rolname;
