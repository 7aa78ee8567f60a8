resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV2_AWS_62:Refinery catalogues every object as it writes it; nothing consumes bucket events
  # checkov:skip=CKV_AWS_144:replication is configured where a bucket needs it (the lake: stacks/aws lake_replica); backups are copied by inv db.backup --offsite
  count = var.create ? 1 : 0

  bucket = var.bucket

  tags = merge(var.tags, var.enable_protection_tag ? { protected = "true" } : {})
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.create ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = var.create && var.access_log_bucket != null ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.access_log_bucket
  target_prefix = "${var.bucket}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_expiration_days
    }
  }

  dynamic "rule" {
    for_each = var.enable_lifecycle ? [1] : []

    content {
      id     = "age-out"
      status = "Enabled"

      filter {}

      abort_incomplete_multipart_upload {
        days_after_initiation = 7
      }

      transition {
        days          = var.transition_to_glacier_days
        storage_class = "GLACIER_IR"
      }

      dynamic "expiration" {
        for_each = var.expiration_days > 0 ? [var.expiration_days] : []

        content {
          days = expiration.value
        }
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "tls_only" {
  count = var.create ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[0].arn, "${aws_s3_bucket.this[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# Sealed results (ops/analyses/seal.py): nobody but the writer roles (the platform's bot) may
# put, overwrite or delete an object, or an object version, under a write-protected prefix.
# A Deny wins over every Allow, the account's administrators included; changing this policy
# through Terraform is the only way around it, and that is reviewed like any plan.
data "aws_iam_policy_document" "write_protected" {
  count = var.create && length(var.write_protected_prefixes) > 0 ? 1 : 0

  statement {
    sid       = "OnlyTheBotWritesResults"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:DeleteObjectTagging"]
    resources = [for prefix in var.write_protected_prefixes : "${aws_s3_bucket.this[0].arn}/${prefix}*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = var.writer_role_arns
    }
  }
}

data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0

  source_policy_documents = concat(
    [data.aws_iam_policy_document.tls_only[0].json],
    [for document in data.aws_iam_policy_document.write_protected : document.json],
  )
}

resource "aws_s3_bucket_policy" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.this[0].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
