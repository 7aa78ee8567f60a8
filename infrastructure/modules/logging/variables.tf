variable "create" {
  description = "Whether to create the log group."
  type        = bool
  default     = true
}

variable "name" {
  description = "Log group name."
  type        = string
}

variable "retention_days" {
  description = "How long log events are kept (one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log group; null uses CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
