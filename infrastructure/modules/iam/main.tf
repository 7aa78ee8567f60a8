data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  create    = var.create
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id
  lake_rw   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectAttributes", "s3:AbortMultipartUpload"]
  kms_use   = var.kms_key_arn == null ? [] : [var.kms_key_arn]
  # No database (create_database = false): no secret to grant.
  db_secret = var.database_secret_arn == null ? [] : [var.database_secret_arn]
}

data "aws_iam_policy_document" "assume" {
  for_each = {
    ec2       = "ec2.amazonaws.com"
    ecs_tasks = "ecs-tasks.amazonaws.com"
    batch     = "batch.amazonaws.com"
  }

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [each.value]
    }
  }
}

# --- the foreman host: dispatches Batch jobs, owns backups and locks -------------------------

data "aws_iam_policy_document" "foreman" {
  count = local.create ? 1 : 0

  statement {
    sid       = "LakeAndBackupObjects"
    actions   = local.lake_rw
    resources = ["${var.lake_bucket_arn}/*", "${var.backup_bucket_arn}/*"]
  }

  statement {
    sid       = "LakeAndBackupListing"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketVersions"]
    resources = [var.lake_bucket_arn, var.backup_bucket_arn]
  }

  statement {
    sid     = "DispatchBatchJobs"
    actions = ["batch:SubmitJob", "batch:TerminateJob", "batch:CancelJob", "batch:TagResource"]
    resources = [
      "arn:${local.partition}:batch:${local.region}:${local.account}:job-queue/${var.name}-*",
      "arn:${local.partition}:batch:${local.region}:${local.account}:job-definition/${var.name}-*",
    ]
  }

  statement {
    sid     = "ManageJobDefinitions"
    actions = ["batch:RegisterJobDefinition", "batch:DeregisterJobDefinition"]
    resources = [
      "arn:${local.partition}:batch:${local.region}:${local.account}:job-definition/${var.name}-*",
    ]
  }

  # Describe/List calls in Batch do not support resource-level permissions.
  statement {
    sid       = "ReadBatchState"
    actions   = ["batch:DescribeJobs", "batch:ListJobs", "batch:DescribeJobQueues", "batch:DescribeJobDefinitions", "batch:DescribeComputeEnvironments"]
    resources = ["*"]
  }

  statement {
    sid       = "PassJobRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.batch_job[0].arn, aws_iam_role.batch_execution[0].arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"]
    resources = [var.log_group_arn, "${var.log_group_arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.db_secret) > 0 ? [1] : []

    content {
      sid       = "DatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = local.db_secret
    }
  }

  statement {
    sid       = "Locks"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:DescribeTable"]
    resources = [var.lock_table_arn]
  }

  statement {
    sid       = "PullImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]
    resources = var.ecr_repository_arns
  }

  # GetAuthorizationToken has no resource-level permissions.
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(local.kms_use) > 0 ? [1] : []

    content {
      sid       = "UseDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_use
    }
  }
}

resource "aws_iam_role" "foreman" {
  count = local.create ? 1 : 0

  name               = "${var.name}-foreman"
  assume_role_policy = data.aws_iam_policy_document.assume["ec2"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "foreman" {
  count = local.create ? 1 : 0

  name   = "foreman"
  role   = aws_iam_role.foreman[0].id
  policy = data.aws_iam_policy_document.foreman[0].json
}

resource "aws_iam_role_policy_attachment" "foreman_ssm" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.foreman[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "foreman" {
  count = local.create ? 1 : 0

  name = "${var.name}-foreman"
  role = aws_iam_role.foreman[0].name

  tags = var.tags
}

# --- worker jobs: read and write the lake, reach the database, write logs --------------------

data "aws_iam_policy_document" "batch_job" {
  count = local.create ? 1 : 0

  statement {
    sid       = "LakeObjects"
    actions   = local.lake_rw
    resources = ["${var.lake_bucket_arn}/*"]
  }

  statement {
    sid       = "LakeListing"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]
  }

  dynamic "statement" {
    for_each = length(local.db_secret) > 0 ? [1] : []

    content {
      sid       = "DatabaseSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.db_secret
    }
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:*"]
  }

  dynamic "statement" {
    for_each = length(local.kms_use) > 0 ? [1] : []

    content {
      sid       = "UseDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_use
    }
  }
}

resource "aws_iam_role" "batch_job" {
  count = local.create ? 1 : 0

  name               = "${var.name}-batch-job"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs_tasks"].json

  tags = var.tags
}

resource "aws_iam_role_policy" "batch_job" {
  count = local.create ? 1 : 0

  name   = "worker"
  role   = aws_iam_role.batch_job[0].id
  policy = data.aws_iam_policy_document.batch_job[0].json
}

# --- Batch itself: pulling images, the container instances, the service -----------------------

resource "aws_iam_role" "batch_execution" {
  count = local.create ? 1 : 0

  name               = "${var.name}-batch-execution"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs_tasks"].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "batch_execution" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.batch_execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role" "batch_instance" {
  count = local.create ? 1 : 0

  name               = "${var.name}-batch-instance"
  assume_role_policy = data.aws_iam_policy_document.assume["ec2"].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "batch_instance" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.batch_instance[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "batch_instance" {
  count = local.create ? 1 : 0

  name = "${var.name}-batch-instance"
  role = aws_iam_role.batch_instance[0].name

  tags = var.tags
}

resource "aws_iam_role" "batch_service" {
  count = local.create ? 1 : 0

  name               = "${var.name}-batch-service"
  assume_role_policy = data.aws_iam_policy_document.assume["batch"].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "batch_service" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.batch_service[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSBatchServiceRole"
}
