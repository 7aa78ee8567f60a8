variable "create" {
  description = "Whether to create the foreman host."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the host."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
}

variable "ami_ssm_parameter" {
  description = "SSM parameter naming the AMI (the latest Amazon Linux 2023 by default)."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

variable "subnet_id" {
  description = "Private subnet of the host."
  type        = string
}

variable "security_group_ids" {
  description = "Security groups of the host."
  type        = list(string)
}

variable "instance_profile_name" {
  description = "Instance profile giving the host the foreman's IAM role."
  type        = string
}

variable "root_volume_gb" {
  description = "Size of the encrypted root volume in GiB."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "KMS key for the root volume; null uses the account's default EBS key."
  type        = string
  default     = null
}

variable "user_data" {
  description = "Cloud-init user data (no secrets: the host reads them from Secrets Manager)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
