# The same outputs as stacks/aws (ops/tf/outputs.py REQUIRED_OUTPUTS), with
# plausible values derived from the variables.

output "aws_region" {
  description = "Region the stack is deployed in."
  value       = var.region
}

output "database_endpoint" {
  description = "PostgreSQL host name."
  value       = coalesce(var.database_address, "${local.database_identifier}.${module.database.id}.${var.region}.rds.test")
}

output "database_port" {
  description = "PostgreSQL port."
  value       = var.database_port
}

output "database_identifier" {
  description = "Database instance identifier (what RDS snapshots are taken of)."
  value       = local.database_identifier
}

output "database_name" {
  description = "Database created for Refinery."
  value       = var.database_name
}

output "database_username" {
  description = "Master user name."
  value       = "refinery"
}

output "database_master_secret_arn" {
  description = "Secrets Manager secret holding the managed master password."
  value       = "arn:aws:secretsmanager:${var.region}:${var.account_id}:secret:rds!db-${local.database_identifier}"
}

output "lake_bucket" {
  description = "S3 bucket of the data lake."
  value       = "${local.prefix}-lake"
}

output "backup_bucket" {
  description = "S3 bucket for database backups."
  value       = "${local.prefix}-backups"
}

output "batch_job_queues" {
  description = "Batch job queue name per worker pool."
  value       = { for pool in local.batch_pools : pool => "${local.prefix}-${replace(pool, "_", "-")}" }
}

output "batch_job_role_arn" {
  description = "IAM role Batch jobs run as."
  value       = "arn:aws:iam::${var.account_id}:role/${local.prefix}-batch-job"
}

output "batch_execution_role_arn" {
  description = "IAM role Batch uses to pull images and write logs."
  value       = "arn:aws:iam::${var.account_id}:role/${local.prefix}-batch-execution"
}

output "ecr_repository_urls" {
  description = "Repository URL per image name."
  value       = { for repository in var.ecr_repositories : repository => "${coalesce(var.registry, "${var.account_id}.dkr.ecr.${var.region}.amazonaws.com/${var.name}")}/${repository}" }
}

output "log_group_name" {
  description = "CloudWatch log group of the platform."
  value       = "/${var.name}/${var.environment}"
}

output "foreman_host" {
  description = "Private DNS name of the foreman host."
  value       = coalesce(var.foreman_address, "foreman.${var.environment}.${var.name}.internal")
}

output "lock_table" {
  description = "DynamoDB table for deploy and runbook locks."
  value       = "${local.prefix}-locks"
}

output "foreman_instance_id" {
  description = "The foreman host the tunnel opens to (on the sandbox, its loopback address)."
  value       = coalesce(var.foreman_address, "foreman.${var.environment}.${var.name}.internal")
}

output "instance_connect_endpoint_id" {
  description = "The way in (the stand-in of the EC2 Instance Connect Endpoint)."
  value       = module.instance_connect_endpoint.id
}

output "way_in_policy_arn" {
  description = "Managed policy to attach to operators (on the sandbox, a name only)."
  value       = "arn:aws:iam::${var.account_id}:policy/${local.prefix}-way-in"
}

output "github_deploy_role_arn" {
  description = "Role the release workflow assumes through GitHub OIDC (on the sandbox, a name only)."
  value       = "arn:aws:iam::${var.account_id}:role/${local.prefix}-github-deploy"
}

output "lake_replica_bucket" {
  description = "The lake's second copy (the sandbox has none: a name only)."
  value       = "${local.prefix}-lake-replica"
}
