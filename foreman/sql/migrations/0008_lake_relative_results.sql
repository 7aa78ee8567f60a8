-- Sealed analyses keep their results_location lake-relative, like every other row.
--
-- Sealing used to record the lake's own address in front of the results' folder (a host path
-- such as /srv/lake/analyses/7/, or s3://bucket/prefix/analyses/7/), while unsealed rows held
-- `analyses/7/`. The address belongs to the environment, not to the catalog: it changes when
-- the lake moves. Rows sealed that way get their lake-relative location back.
UPDATE analyses
   SET results_location = 'analyses/' || id || '/'
 WHERE status = 'SUCCEEDED'
   AND results_location <> 'analyses/' || id || '/'
   AND results_location LIKE '%/analyses/' || id || '/'
   AND results_location NOT LIKE '.trash/%';
