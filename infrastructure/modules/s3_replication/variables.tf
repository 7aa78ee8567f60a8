variable "create" {
  description = "Whether to replicate."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the replication role and rule."
  type        = string
}

variable "source_bucket" {
  description = "Versioned bucket whose objects are replicated."
  type        = string
}

variable "destination_bucket" {
  description = "Versioned bucket (another region) receiving the copies."
  type        = string
}

variable "source_kms_key_arn" {
  description = "KMS key of the source bucket; null when it uses SSE-S3."
  type        = string
  default     = null
}

variable "destination_kms_key_arn" {
  description = "KMS key (in the destination's region) the copies are encrypted with; null for SSE-S3."
  type        = string
  default     = null
}

variable "replication_time_minutes" {
  description = "S3 Replication Time Control target; also the threshold of the missed-threshold events and of the stack's replication alarm."
  type        = number
  default     = 15
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
