variable "create" {
  description = "Whether to create the bucket."
  type        = bool
  default     = true
}

variable "bucket" {
  description = "Bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for default encryption; null uses S3-managed keys (SSE-S3)."
  type        = string
  default     = null
}

variable "enable_lifecycle" {
  description = "Whether to apply the lifecycle rules below (backups: yes; the lake keeps data until deleted on purpose)."
  type        = bool
  default     = false
}

variable "transition_to_glacier_days" {
  description = "Days after which current objects move to Glacier Instant Retrieval (lifecycle on)."
  type        = number
  default     = 30
}

variable "expiration_days" {
  description = "Days after which current objects expire (lifecycle on); 0 never expires them."
  type        = number
  default     = 0
}

variable "noncurrent_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed."
  type        = number
  default     = 90
}

variable "access_log_bucket" {
  description = "Bucket receiving S3 server access logs; null disables access logging."
  type        = string
  default     = null
}

variable "enable_protection_tag" {
  description = "Whether to tag the bucket protected = \"true\" (Refinery refuses plans that destroy it)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "write_protected_prefixes" {
  description = "Key prefixes (ending in /) under which only writer_role_arns may put or delete objects (the lake: analyses/, sealed results)."
  type        = list(string)
  default     = []
}

variable "writer_role_arns" {
  description = "IAM role ARNs allowed to write under write_protected_prefixes (the platform's bot)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.writer_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", arn))])
    error_message = "Every writer must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}
