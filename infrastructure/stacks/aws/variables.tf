variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "refinery"
}

variable "environment" {
  description = "Environment name (staging, prod)."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for buckets, database, logs and volumes; null uses AWS-managed keys."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones to spread subnets over."
  type        = list(string)
}

variable "private_subnet_cidrs" {
  description = "Private subnet CIDRs, one per availability zone."
  type        = list(string)
}

variable "public_subnet_cidrs" {
  description = "Public subnet CIDRs (NAT gateways), one per availability zone."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (cheaper, not zone-redundant)."
  type        = bool
  default     = false
}

variable "ssh_ingress_cidrs" {
  description = "CIDRs allowed to SSH to the foreman host directly (a bastion or VPN); empty means none: the way in is the EC2 Instance Connect Endpoint."
  type        = list(string)
  default     = []
}

variable "create_database" {
  description = "Whether to create the RDS database."
  type        = bool
  default     = true
}

variable "database_identifier" {
  description = "RDS instance identifier; null means <name>-<environment>-db. Changing it replaces the database."
  type        = string
  default     = null
}

variable "database_engine_version" {
  description = "PostgreSQL version on RDS (a major: RDS keeps the newest minor)."
  type        = string
  default     = "18"
}

variable "database_parameter_group_family" {
  description = "Parameter group family matching database_engine_version."
  type        = string
  default     = "postgres18"
}

variable "database_instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "database_allocated_storage_gb" {
  description = "Initial database storage in GiB."
  type        = number
}

variable "database_max_allocated_storage_gb" {
  description = "Upper bound of database storage autoscaling in GiB."
  type        = number
}

variable "database_name" {
  description = "Database created for Refinery."
  type        = string
  default     = "refinery"
}

variable "database_multi_az" {
  description = "Whether the database keeps a standby in another zone."
  type        = bool
}

variable "database_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
}

variable "enable_database_deletion_protection" {
  description = "Whether RDS refuses to delete the database."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days after which objects in the backup bucket expire (Refinery prunes earlier by policy)."
  type        = number
}

variable "backup_glacier_after_days" {
  description = "Days after which backups move to Glacier Instant Retrieval."
  type        = number
  default     = 30
}

variable "access_log_bucket" {
  description = "Existing bucket for S3 server access logs; null disables access logging."
  type        = string
  default     = null
}

variable "batch_pools" {
  description = "Worker pools (compute environment + job queue each): spot and large_memory are expected by the foreman."
  type = map(object({
    type           = string
    instance_types = list(string)
    min_vcpus      = number
    max_vcpus      = number
    priority       = number
  }))
}

variable "batch_scratch_volume_gb" {
  description = "Scratch (root) volume of each Batch instance in GiB."
  type        = number
  default     = 200
}

variable "create_foreman_host" {
  description = "Whether to create the foreman EC2 host."
  type        = bool
  default     = true
}

variable "foreman_instance_type" {
  description = "Instance type of the foreman host."
  type        = string
  default     = "t3.small"
}

variable "foreman_deploy_public_keys" {
  description = "SSH public keys of the deploy's login (refinery-deploy) on the foreman host."
  type        = list(string)
  default     = []
}

variable "schedules" {
  description = "Timer per scheduled job the foreman host runs (backup, seal, metadata-sync, lake-check): OnCalendar and the inv arguments, from the environment file's [schedule], passed by inv (ops/tf/settings.py), never set by hand."
  type = map(object({
    on_calendar   = string
    inv_arguments = string
  }))
  default = {}

  validation {
    condition     = alltrue([for job in keys(var.schedules) : contains(["backup", "seal", "metadata-sync", "lake-check"], job)])
    error_message = "Scheduled jobs are backup, seal, metadata-sync and lake-check (ops/schedule/jobs.py)."
  }
}

variable "replica_region" {
  description = "Region of the lake's second copy (cross-region replication); not the stack's region."
  type        = string
}

variable "replica_kms_key_arn" {
  description = "KMS key in replica_region for the lake's copy; null uses SSE-S3."
  type        = string
  default     = null
}

variable "github_repository" {
  description = "OWNER/REPO whose release workflow deploys this environment (GitHub OIDC role); null creates no deploy role."
  type        = string
  default     = null
}

variable "create_github_oidc_provider" {
  description = "Whether this environment creates the account's GitHub OIDC provider (true in exactly one environment per account)."
  type        = bool
  default     = true
}

variable "ecr_repositories" {
  description = "Image names that get an ECR repository."
  type        = list(string)
  default     = ["base", "foreman", "workers", "salmon", "affy"]
}

variable "log_retention_days" {
  description = "Retention of the platform's CloudWatch log group."
  type        = number
}

variable "oncall_emails" {
  description = "Addresses the on-call alarms notify (infrastructure/modules/monitoring)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
