variable "create" {
  description = "Whether to create the database."
  type        = bool
  default     = true
}

variable "identifier" {
  description = "RDS instance identifier; changing it replaces the database."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL version on RDS: a major (\"18\") lets RDS pick the newest minor."
  type        = string
  default     = "18"
}

variable "parameter_group_family" {
  description = "Parameter group family matching the major version."
  type        = string
  default     = "postgres18"
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 100
}

variable "max_allocated_storage_gb" {
  description = "Upper bound for storage autoscaling in GiB."
  type        = number
  default     = 1000
}

variable "database_name" {
  description = "Database created for Refinery."
  type        = string
  default     = "refinery"
}

variable "username" {
  description = "Master user name; its password is generated and kept by RDS in Secrets Manager."
  type        = string
  default     = "refinery"
}

variable "kms_key_arn" {
  description = "KMS key for storage, snapshots, Performance Insights and the master secret; null uses the AWS-managed keys."
  type        = string
  default     = null
}

variable "multi_az" {
  description = "Whether to keep a synchronous standby in another availability zone."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "How many days of automated backups (point-in-time recovery) RDS keeps."
  type        = number
  default     = 14
}

variable "backup_window" {
  description = "Daily UTC window for automated backups."
  type        = string
  default     = "02:00-03:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "enable_deletion_protection" {
  description = "Whether RDS refuses to delete the instance (turn off deliberately before a planned teardown)."
  type        = bool
  default     = true
}

variable "enable_performance_insights" {
  description = "Whether Performance Insights is on."
  type        = bool
  default     = true
}

variable "monitoring_role_arn" {
  description = "Role for Enhanced Monitoring; null turns Enhanced Monitoring off."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets the database may live in."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the database."
  type        = list(string)
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
