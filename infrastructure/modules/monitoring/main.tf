locals {
  dimensions = { Environment = var.environment }
  # Simple threshold alarms on the environment-wide figures the foreman publishes
  # (foreman/cloudwatch.py). Missing data means no foreman is publishing: breaching.
  alarms = {
    no-foreman-heartbeat = {
      metric      = "ForemanHeartbeatAgeSeconds"
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.heartbeat_seconds
      periods     = 2
      missing     = "breaching"
      description = "No foreman is leading: nothing is dispatched. See ops/runbooks/foreman_restart.py."
    }
    oldest-pending-too-old = {
      metric      = "OldestPendingSeconds"
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.oldest_pending_seconds
      periods     = 10
      missing     = "notBreaching"
      description = "A job has waited too long: queues at capacity, or dispatch stuck (inv jobs.top)."
    }
    backup-too-old = {
      metric      = "BackupAgeSeconds"
      statistic   = "Maximum"
      comparison  = "GreaterThanThreshold"
      threshold   = var.backup_age_seconds
      periods     = 10
      missing     = "breaching"
      description = "The newest database backup is too old (inv schedule.status, inv db.backup)."
    }
    lake-out-of-sync = {
      metric      = "LakeInSync"
      statistic   = "Minimum"
      comparison  = "LessThanThreshold"
      threshold   = 1
      periods     = 5
      missing     = "breaching"
      description = "The data lake and the catalog disagree, or were never compared (inv lake.check)."
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
  alarm_description   = "Too many attempts fail; inv jobs.top groups the failures by reason."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.failure_ratio
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this[0].arn]
  ok_actions          = [aws_sns_topic.this[0].arn]

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
