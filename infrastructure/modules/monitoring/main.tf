locals {
  dimensions = { Environment = var.environment }
  # Simple threshold alarms on the environment-wide figures the foreman's leader publishes
  # (foreman/cloudwatch.py). Each names its runbook (ops/runbooks/), whose first step is an
  # `inv` command; `missing` says what a minute without the figure means, and why.
  alarms = {
    no-foreman-heartbeat = {
      metric     = "ForemanHeartbeatAgeSeconds"
      statistic  = "Maximum"
      comparison = "GreaterThanThreshold"
      threshold  = var.heartbeat_seconds
      periods    = 2
      # Missing: no foreman leads, so nothing publishes — the very failure this alarm is for.
      missing     = "breaching"
      description = "No foreman is leading: nothing is dispatched. Runbook ops/runbooks/no_foreman_heartbeat.py: inv foreman.status, then inv foreman.restart."
    }
    oldest-pending-too-old = {
      metric     = "OldestPendingSeconds"
      statistic  = "Maximum"
      comparison = "GreaterThanThreshold"
      threshold  = var.oldest_pending_seconds
      periods    = 10
      # Missing: nothing is pending (the figure is only published for waiting jobs), or no
      # foreman publishes at all, which no-foreman-heartbeat already pages for.
      missing     = "notBreaching"
      description = "A job has waited too long: queues at capacity, or dispatch stuck. Runbook ops/runbooks/jobs_waiting.py: inv jobs.top."
    }
    backup-too-old = {
      metric     = "BackupAgeSeconds"
      statistic  = "Maximum"
      comparison = "GreaterThanThreshold"
      threshold  = var.backup_age_seconds
      periods    = 10
      # Missing while a foreman publishes means there is no backup at all: page. (The first
      # scheduled backup runs on the night of the first deploy.)
      missing     = "breaching"
      description = "The newest database backup is too old, or there is none. Runbook ops/runbooks/backup_too_old.py: inv schedule.status, then inv db.backup."
    }
    lake-out-of-sync = {
      metric     = "LakeInSync"
      statistic  = "Minimum"
      comparison = "LessThanThreshold"
      threshold  = 1
      periods    = 5
      # Missing: the lake was never compared, or no foreman publishes. The deploy's smoke step
      # runs the first lake check and the lake-check timer the rest, so "never compared" only
      # lasts until the first deploy ends; no foreman is no-foreman-heartbeat's page. Paging
      # on silence here would page twice for one fault, or from the first apply for none.
      missing     = "notBreaching"
      description = "The data lake and the catalog disagree. Runbook ops/runbooks/lake_out_of_sync.py: inv lake.check."
    }
  }
}

resource "aws_sns_topic" "this" {
  count = var.create ? 1 : 0

  name              = "${var.name_prefix}-${var.environment}-oncall"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.create ? toset(var.oncall_emails) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "threshold" {
  for_each = var.create ? local.alarms : {}

  alarm_name          = "${var.name_prefix}-${var.environment}-${each.key}"
  alarm_description   = each.value.description
  namespace           = var.namespace
  metric_name         = each.value.metric
  dimensions          = local.dimensions
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = each.value.periods
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = each.value.missing
  alarm_actions       = [aws_sns_topic.this[0].arn]
  ok_actions          = [aws_sns_topic.this[0].arn]

  tags = var.tags
}

# Failed attempts as a share of all that finished, over 15 minutes.
resource "aws_cloudwatch_metric_alarm" "failure_rate" {
  count = var.create ? 1 : 0

  alarm_name          = "${var.name_prefix}-${var.environment}-failure-rate"
  alarm_description   = "Too many attempts fail. Runbook ops/runbooks/jobs_failing.py: inv jobs.top groups the failures by reason."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.failure_ratio
  evaluation_periods  = 1
  # Missing: no attempt finished in the window, so none failed.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.this[0].arn]
  ok_actions         = [aws_sns_topic.this[0].arn]

  metric_query {
    id          = "ratio"
    expression  = "IF(failed + succeeded >= 4, failed / (failed + succeeded), 0)"
    label       = "failed share of finished attempts"
    return_data = true
  }

  metric_query {
    id = "failed"
    metric {
      namespace   = var.namespace
      metric_name = "AttemptsFailed"
      dimensions  = local.dimensions
      period      = 900
      stat        = "Sum"
    }
  }

  metric_query {
    id = "succeeded"
    metric {
      namespace   = var.namespace
      metric_name = "AttemptsSucceeded"
      dimensions  = local.dimensions
      period      = 900
      stat        = "Sum"
    }
  }

  tags = var.tags
}

# The lake's second copy falls behind: S3 publishes the replication rule's figures (Replication
# Time Control on, infrastructure/modules/s3_replication) in AWS/S3 under these dimensions.
resource "aws_cloudwatch_metric_alarm" "replication_behind" {
  count = var.create && var.replication != null ? 1 : 0

  alarm_name          = "${var.name_prefix}-${var.environment}-lake-replication-behind"
  alarm_description   = "The lake's second copy falls behind. Runbook ops/runbooks/lake_replication_behind.py: inv tf.output, then inv lake.mirror."
  namespace           = "AWS/S3"
  metric_name         = "ReplicationLatency"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.replication_latency_seconds
  # Missing: S3 publishes the latency only while objects replicate; no writes, nothing behind.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_sns_topic.this[0].arn]
  ok_actions         = [aws_sns_topic.this[0].arn]

  dimensions = {
    SourceBucket      = var.replication.source_bucket
    DestinationBucket = var.replication.destination_bucket
    RuleId            = var.replication.rule_id
  }

  tags = var.tags
}
