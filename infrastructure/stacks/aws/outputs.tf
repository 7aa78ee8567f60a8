# What the deploy reads (ops/tf/outputs.py REQUIRED_OUTPUTS); stacks/sandbox
# declares the same outputs.

output "aws_region" {
  description = "Region the stack is deployed in."
  value       = var.region
}

output "database_endpoint" {
  description = "PostgreSQL host name."
  value       = module.database.address
}

output "database_port" {
  description = "PostgreSQL port."
  value       = module.database.port
}

output "database_identifier" {
  description = "Database instance identifier (what RDS snapshots are taken of)."
  value       = module.database.identifier
}

output "database_name" {
  description = "Database created for Refinery."
  value       = module.database.database_name
}

output "database_username" {
  description = "Master user name."
  value       = module.database.username
}

output "database_master_secret_arn" {
  description = "Secrets Manager secret holding the managed master password."
  value       = module.database.master_user_secret_arn
}

output "lake_bucket" {
  description = "S3 bucket of the data lake."
  value       = module.lake_bucket.id
}

output "backup_bucket" {
  description = "S3 bucket for database backups."
  value       = module.backup_bucket.id
}

output "batch_job_queues" {
  description = "Batch job queue name per worker pool."
  value       = module.batch.job_queue_names
}

output "batch_job_role_arn" {
  description = "IAM role Batch jobs run as."
  value       = module.iam.batch_job_role_arn
}

output "batch_execution_role_arn" {
  description = "IAM role Batch uses to pull images and write logs."
  value       = module.iam.batch_execution_role_arn
}

output "ecr_repository_urls" {
  description = "Repository URL per image name."
  value       = module.ecr.repository_urls
}

output "log_group_name" {
  description = "CloudWatch log group of the platform."
  value       = module.logging.name
}

output "foreman_host" {
  description = "Private DNS name of the foreman host (inside the VPC; operators use foreman_instance_id)."
  value       = try(module.dns.fqdns["foreman"], module.foreman.private_dns)
}

output "foreman_instance_id" {
  description = "Instance ID of the foreman host: what [foreman_host] hosts names and the tunnel opens to."
  value       = module.foreman.instance_id
}

output "instance_connect_endpoint_id" {
  description = "The way in: the EC2 Instance Connect Endpoint that `aws ec2-instance-connect open-tunnel` goes through."
  value       = module.network.instance_connect_endpoint_id
}

output "way_in_policy_arn" {
  description = "Managed policy to attach to operators (OpenTunnel on the endpoint, port 22)."
  value       = module.iam.way_in_policy_arn
}

output "github_deploy_role_arn" {
  description = "Role the release workflow assumes through GitHub OIDC (the environment's AWS_DEPLOY_ROLE_ARN variable)."
  value       = module.iam.github_deploy_role_arn
}

output "lake_replica_bucket" {
  description = "The lake's second copy, in replica_region."
  value       = module.lake_replica.id
}

output "lock_table" {
  description = "DynamoDB table for deploy and runbook locks."
  value       = module.lock_table.name
}
