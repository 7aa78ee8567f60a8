# Refinery on AWS: network, PostgreSQL on RDS, the S3 data lake and backups, AWS Batch worker
# pools, the foreman host, logs, ECR and the IAM that ties them together. One state per
# environment (environments/<env>.toml [terraform.backend]).

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      project     = var.name
      environment = var.environment
      managed_by  = "terraform"
    })
  }
}

# The lake's second copy lives in another region (module "lake_replica").
provider "aws" {
  alias  = "replica"
  region = var.replica_region

  default_tags {
    tags = merge(var.tags, {
      project     = var.name
      environment = var.environment
      managed_by  = "terraform"
    })
  }
}

locals {
  prefix              = "${var.name}-${var.environment}"
  database_identifier = coalesce(var.database_identifier, "${local.prefix}-db")
  # The private zone of the environment; the deploy connects to foreman.<zone>.
  private_zone = "${var.environment}.${var.name}.internal"
}

module "network" {
  source = "../../modules/network"

  name                 = local.prefix
  cidr                 = var.vpc_cidr
  availability_zones   = var.availability_zones
  private_subnet_cidrs = var.private_subnet_cidrs
  public_subnet_cidrs  = var.public_subnet_cidrs
  single_nat_gateway   = var.single_nat_gateway
  ssh_ingress_cidrs    = var.ssh_ingress_cidrs
  # The way in (common/tunnel.py): an EC2 Instance Connect Endpoint in a private subnet.
  enable_instance_connect_endpoint = true
  kms_key_arn                      = var.kms_key_arn
}

module "database" {
  source = "../../modules/database"

  create                     = var.create_database
  identifier                 = local.database_identifier
  engine_version             = var.database_engine_version
  parameter_group_family     = var.database_parameter_group_family
  instance_class             = var.database_instance_class
  allocated_storage_gb       = var.database_allocated_storage_gb
  max_allocated_storage_gb   = var.database_max_allocated_storage_gb
  database_name              = var.database_name
  multi_az                   = var.database_multi_az
  backup_retention_days      = var.database_backup_retention_days
  enable_deletion_protection = var.enable_database_deletion_protection
  kms_key_arn                = var.kms_key_arn
  subnet_ids                 = module.network.private_subnet_ids
  security_group_ids         = [module.network.database_security_group_id]
}

module "lake_bucket" {
  source = "../../modules/s3_bucket"

  bucket            = "${local.prefix}-lake"
  kms_key_arn       = var.kms_key_arn
  access_log_bucket = var.access_log_bucket
  # The lake keeps data until Refinery deletes it on purpose (inv data.delete).
  enable_lifecycle = false
  # Sealed results (ops/analyses/seal.py): only the platform's bot writes under analyses/.
  write_protected_prefixes = ["analyses/"]
  writer_role_arns         = [module.iam.bot_role_arn]
}

# The lake's second copy, in var.replica_region: every object version is replicated by S3
# (module "lake_replication"); the monitoring module alarms when replication falls behind.
module "lake_replica" {
  source = "../../modules/s3_bucket"

  providers = {
    aws = aws.replica
  }

  bucket            = "${local.prefix}-lake-replica"
  kms_key_arn       = var.replica_kms_key_arn
  access_log_bucket = null
  enable_lifecycle  = false
  # The copy is written by S3's replication only; sealed results stay sealed there too.
  write_protected_prefixes = ["analyses/"]
  writer_role_arns         = [module.iam.bot_role_arn, module.lake_replication.role_arn]
}

module "lake_replication" {
  source = "../../modules/s3_replication"

  name = "${local.prefix}-lake-replication"
  # The versioned names: S3 refuses a replication rule until both buckets are versioned.
  source_bucket            = module.lake_bucket.versioned_bucket
  destination_bucket       = module.lake_replica.versioned_bucket
  source_kms_key_arn       = var.kms_key_arn
  destination_kms_key_arn  = var.replica_kms_key_arn
  replication_time_minutes = 15
}

module "backup_bucket" {
  source = "../../modules/s3_bucket"

  bucket                     = "${local.prefix}-backups"
  kms_key_arn                = var.kms_key_arn
  access_log_bucket          = var.access_log_bucket
  enable_lifecycle           = true
  transition_to_glacier_days = var.backup_glacier_after_days
  expiration_days            = var.backup_retention_days
  noncurrent_expiration_days = 30
}

module "lock_table" {
  source = "../../modules/dynamodb_table"

  name        = "${local.prefix}-locks"
  kms_key_arn = var.kms_key_arn
}

module "logging" {
  source = "../../modules/logging"

  name           = "/${var.name}/${var.environment}"
  retention_days = var.log_retention_days
  kms_key_arn    = var.kms_key_arn
}

module "monitoring" {
  source = "../../modules/monitoring"

  name_prefix   = var.name
  environment   = var.environment
  oncall_emails = var.oncall_emails
  kms_key_arn   = var.kms_key_arn
  replication = {
    source_bucket      = module.lake_bucket.id
    destination_bucket = module.lake_replica.id
    rule_id            = module.lake_replication.rule_id
  }
}

module "ecr" {
  source = "../../modules/ecr"

  name_prefix  = var.name
  repositories = var.ecr_repositories
  kms_key_arn  = var.kms_key_arn
}

module "iam" {
  source = "../../modules/iam"

  name                = local.prefix
  lake_bucket_arn     = module.lake_bucket.arn
  backup_bucket_arn   = module.backup_bucket.arn
  log_group_arn       = module.logging.arn
  lock_table_arn      = module.lock_table.arn
  database_secret_arn = module.database.master_user_secret_arn
  ecr_repository_arns = values(module.ecr.repository_arns)
  kms_key_arn         = var.kms_key_arn
  # The CI deploy (.github/workflows/release.yml) assumes this role through GitHub's OIDC.
  github_repository             = var.github_repository
  github_environment            = var.environment
  create_github_oidc_provider   = var.create_github_oidc_provider
  instance_connect_endpoint_arn = module.network.instance_connect_endpoint_arn
}

module "batch" {
  source = "../../modules/batch"

  name                 = local.prefix
  pools                = var.batch_pools
  subnet_ids           = module.network.private_subnet_ids
  security_group_ids   = [module.network.workers_security_group_id]
  instance_profile_arn = module.iam.batch_instance_profile_arn
  service_role_arn     = module.iam.batch_service_role_arn
  scratch_volume_gb    = var.batch_scratch_volume_gb
  kms_key_arn          = var.kms_key_arn
}

module "foreman" {
  source = "../../modules/compute"

  create                = var.create_foreman_host
  name                  = "${local.prefix}-foreman"
  instance_type         = var.foreman_instance_type
  subnet_id             = module.network.private_subnet_ids[0]
  security_group_ids    = [module.network.foreman_security_group_id]
  instance_profile_name = module.iam.foreman_instance_profile_name
  kms_key_arn           = var.kms_key_arn
  user_data = templatefile("${path.module}/templates/foreman_host.cloud-init.yaml.tftpl", {
    environment         = var.environment
    region              = var.region
    registry            = module.ecr.repository_urls["foreman"]
    log_group           = module.logging.name
    database_host       = module.database.address
    database_port       = module.database.port
    database_name       = module.database.database_name
    database_user       = module.database.username
    database_secret_arn = module.database.master_user_secret_arn
    lake_bucket         = module.lake_bucket.id
    deploy_public_keys  = var.foreman_deploy_public_keys
    schedules           = var.schedules
  })
}

module "dns" {
  source = "../../modules/private_dns"

  create    = var.create_foreman_host
  zone_name = local.private_zone
  vpc_id    = module.network.vpc_id
  a_records = var.create_foreman_host ? { foreman = [module.foreman.private_ip] } : {}
}
