variable "create" {
  description = "Whether to create the table."
  type        = bool
  default     = true
}

variable "name" {
  description = "Table name."
  type        = string
}

variable "hash_key" {
  description = "Partition key attribute (a string)."
  type        = string
  default     = "LockID"
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest; null uses the AWS-owned key."
  type        = string
  default     = null
}

variable "enable_deletion_protection" {
  description = "Whether DynamoDB refuses to delete the table."
  type        = bool
  default     = true
}

variable "enable_point_in_time_recovery" {
  description = "Whether continuous backups are on."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
