variable "create" {
  description = "Whether to create the roles."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of every role, and of the Batch queues and job definitions the foreman may drive."
  type        = string
}

variable "lake_bucket_arn" {
  description = "ARN of the data lake bucket (foreman and workers read and write it)."
  type        = string
}

variable "backup_bucket_arn" {
  description = "ARN of the backup bucket (the foreman writes and prunes backups)."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of the platform's log group."
  type        = string
}

variable "lock_table_arn" {
  description = "ARN of the DynamoDB lock table the foreman and runbooks use."
  type        = string
}

variable "database_secret_arn" {
  description = "ARN of the Secrets Manager secret with the database master password; null when there is no database."
  type        = string
  default     = null
}

variable "ecr_repository_arns" {
  description = "ARNs of the ECR repositories hosts and jobs pull from."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key encrypting the buckets and the secret; null when AWS-managed keys are used."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "create_way_in_policy" {
  description = "Whether to create the managed policy that lets operators tunnel through the endpoint."
  type        = bool
  default     = true
}

variable "instance_connect_endpoint_arn" {
  description = "ARN of the EC2 Instance Connect Endpoint operators tunnel through."
  type        = string
  default     = null
}

variable "github_repository" {
  description = "OWNER/REPO whose release workflow deploys this environment through OIDC; null creates no deploy role."
  type        = string
  default     = null
}

variable "github_environment" {
  description = "GitHub environment the deploy job runs in (the token's sub must name it)."
  type        = string
  default     = null
}

variable "create_github_oidc_provider" {
  description = "Whether to create the account's GitHub OIDC provider (once per account; false refers to the existing one)."
  type        = bool
  default     = true
}
