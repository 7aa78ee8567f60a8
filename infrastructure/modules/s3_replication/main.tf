# Cross-region replication of one versioned bucket into another: every new object version
# (and delete marker) is copied by S3 itself, with Replication Time Control so that S3 publishes
# ReplicationLatency and OperationsPendingReplication (infrastructure/modules/monitoring alarms
# on them). Objects written before the rule existed are not copied: S3 Batch Replication does
# that once, by hand (README "The lake's second copy").

data "aws_partition" "current" {}

locals {
  rule_id         = "everything"
  source_arn      = "arn:${data.aws_partition.current.partition}:s3:::${var.source_bucket}"
  destination_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.destination_bucket}"
  kms_source      = var.source_kms_key_arn == null ? [] : [var.source_kms_key_arn]
  kms_destination = var.destination_kms_key_arn == null ? [] : [var.destination_kms_key_arn]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "replicate" {
  statement {
    sid       = "ReadSourceConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [local.source_arn]
  }

  statement {
    sid       = "ReadSourceVersions"
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${local.source_arn}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = ["${local.destination_arn}/*"]
  }

  dynamic "statement" {
    for_each = length(local.kms_source) > 0 ? [1] : []

    content {
      sid       = "DecryptSource"
      actions   = ["kms:Decrypt"]
      resources = local.kms_source
    }
  }

  dynamic "statement" {
    for_each = length(local.kms_destination) > 0 ? [1] : []

    content {
      sid       = "EncryptReplicas"
      actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
      resources = local.kms_destination
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.create ? 1 : 0

  name   = "replicate"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.replicate.json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = var.source_bucket
  role   = aws_iam_role.this[0].arn

  rule {
    id       = local.rule_id
    status   = "Enabled"
    priority = 1

    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    dynamic "source_selection_criteria" {
      for_each = length(local.kms_source) > 0 ? [1] : []

      content {
        sse_kms_encrypted_objects {
          status = "Enabled"
        }
      }
    }

    destination {
      bucket        = local.destination_arn
      storage_class = "STANDARD_IA"

      dynamic "encryption_configuration" {
        for_each = local.kms_destination

        content {
          replica_kms_key_id = encryption_configuration.value
        }
      }

      # Replication Time Control: S3 publishes the replication metrics the alarm watches.
      replication_time {
        status = "Enabled"
        time {
          minutes = var.replication_time_minutes
        }
      }

      metrics {
        status = "Enabled"
        event_threshold {
          minutes = var.replication_time_minutes
        }
      }
    }
  }
}
