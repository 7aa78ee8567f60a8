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

  # The seal timer reads the lake's policy back before it reports results as protected.
  statement {
    sid       = "ReadLakePolicy"
    actions   = ["s3:GetBucketPolicy"]
    resources = [var.lake_bucket_arn]
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

# --- the way in: operators and the CI deploy open SSH tunnels through the endpoint -----------

# Attach to the operators' group or SSO permission set: what `inv` needs to reach the foreman
# host and, through it, the database (common/tunnel.py). Port 22 only, this endpoint only.
data "aws_iam_policy_document" "way_in" {
  count = local.create && var.create_way_in_policy ? 1 : 0

  statement {
    sid       = "OpenSshTunnel"
    actions   = ["ec2-instance-connect:OpenTunnel"]
    resources = [var.instance_connect_endpoint_arn]

    condition {
      test     = "NumericEquals"
      variable = "ec2-instance-connect:remotePort"
      values   = ["22"]
    }
  }

  # The CLI looks the endpoint and the instance up first; Describe calls have no resource scope.
  statement {
    sid       = "FindTheEndpoint"
    actions   = ["ec2:DescribeInstanceConnectEndpoints", "ec2:DescribeInstances"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "way_in" {
  count = local.create && var.create_way_in_policy ? 1 : 0

  name        = "${var.name}-way-in"
  description = "SSH to the foreman host through the EC2 Instance Connect Endpoint (port 22 only)"
  policy      = data.aws_iam_policy_document.way_in[0].json

  tags = var.tags
}

# --- the CI deploy: GitHub Actions assumes this role through OIDC, no stored keys -------------

locals {
  github_oidc_host = "token.actions.githubusercontent.com"
  create_deploy    = local.create && var.github_repository != null
  github_oidc_provider_arn = (
    var.create_github_oidc_provider
    ? try(aws_iam_openid_connect_provider.github[0].arn, null)
    : "arn:${local.partition}:iam::${local.account}:oidc-provider/${local.github_oidc_host}"
  )
}

# One per account: the environment created first makes it, the others refer to it.
resource "aws_iam_openid_connect_provider" "github" {
  count = local.create_deploy && var.create_github_oidc_provider ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM verifies GitHub's certificate through its own trust store; the list must not be empty.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]

  tags = var.tags
}

# Only a job of this repository running in this GitHub environment (protected for prod) may
# assume the role: the token's `sub` is repo:OWNER/REPO:environment:NAME for such a job.
data "aws_iam_policy_document" "github_deploy_assume" {
  count = local.create_deploy ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

resource "aws_iam_role" "github_deploy" {
  count = local.create_deploy ? 1 : 0

  name                 = "${var.name}-github-deploy"
  description          = "inv deploy from GitHub Actions (${var.github_repository}, environment ${var.github_environment})"
  assume_role_policy   = data.aws_iam_policy_document.github_deploy_assume[0].json
  max_session_duration = 3600

  tags = var.tags
}

# The deploy applies this whole stack (IAM, network, database…), so it holds what Terraform
# needs to change any of it; the trust policy above is what keeps it to reviewed releases.
resource "aws_iam_role_policy_attachment" "github_deploy" {
  # checkov:skip=CKV_AWS_274:the deploy runs terraform apply over every resource of the stack, IAM included
  count = local.create_deploy ? 1 : 0

  role       = aws_iam_role.github_deploy[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AdministratorAccess"
}
