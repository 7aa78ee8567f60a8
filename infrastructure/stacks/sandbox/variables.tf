variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "refinery"
}

variable "environment" {
  description = "Environment name (staging, prod, or a test name)."
  type        = string
}

variable "region" {
  description = "AWS region the real stack would deploy to."
  type        = string
  default     = "us-east-1"
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; changing it replaces the network, as on AWS."
  type        = string
  default     = "10.40.0.0/16"
}

variable "database_identifier" {
  description = "Database instance identifier; changing it replaces the database, as on RDS."
  type        = string
  default     = null
}

variable "database_engine_version" {
  description = "PostgreSQL major version (an in-place update, as on RDS)."
  type        = string
  default     = "18"
}

variable "database_name" {
  description = "Name of the database created for Refinery."
  type        = string
  default     = "refinery"
}

variable "ecr_repositories" {
  description = "Image names that get a container registry repository."
  type        = list(string)
  default     = ["base", "foreman", "workers", "salmon", "affy"]
}

variable "foreman_instance_type" {
  description = "Instance type of the foreman host (an in-place update)."
  type        = string
  default     = "t3.small"
}

variable "account_id" {
  description = "Account ID in the ARNs the outputs name (the emulator's default account)."
  type        = string
  default     = "123456789012"
}

variable "database_address" {
  description = "Address of the PostgreSQL server as the foreman host sees it; null names a stand-in RDS endpoint."
  type        = string
  default     = null
}

variable "database_port" {
  description = "Port of the PostgreSQL server."
  type        = number
  default     = 5432
}

variable "registry" {
  description = "Registry (host:port) the image repositories live in; null names a stand-in ECR registry."
  type        = string
  default     = null
}

variable "foreman_address" {
  description = "Address of the foreman host; null names its private DNS record, as on AWS."
  type        = string
  default     = null
}

variable "schedules" {
  description = "Timer per scheduled job, as stacks/aws takes it from the environment file's [schedule] (the sandbox's host runs none)."
  type = map(object({
    on_calendar   = string
    inv_arguments = string
  }))
  default = {}
}
