variable "create" {
  description = "Whether to create the repositories."
  type        = bool
  default     = true
}

variable "name_prefix" {
  description = "Prefix of every repository name (\"refinery\" gives refinery/foreman, refinery/workers…)."
  type        = string
}

variable "repositories" {
  description = "Image names that get a repository."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for image encryption; null uses AES256."
  type        = string
  default     = null
}

variable "untagged_image_days" {
  description = "Days after which untagged images are expired."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
