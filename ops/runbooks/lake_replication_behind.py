"""Runbook: the lake's second copy falls behind (alarm `lake-replication-behind`).

When: S3 reports the lake's replication rule (module `lake_replication` of the AWS stack)
more than the alarm's threshold (an hour by default) behind for fifteen minutes.

1. `inv tf.output -e ENV` names the copy (`lake_replica_bucket`) and its region.
2. In the S3 console, the lake bucket's Replication tab shows failed operations and why
   (most often KMS permissions of the replication role, or the copy's bucket policy).
3. Once the cause is fixed, S3 catches up by itself; objects that failed for good are copied
   with `inv lake.mirror -e ENV --to s3://REPLICA/` (what is already there is skipped).
"""
