variable "create" {
  description = "Whether to create the Batch compute environments and queues."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of the compute environments, queues and launch template."
  type        = string
}

variable "pools" {
  description = "Worker pools, one compute environment and job queue each. type is SPOT or EC2 (on-demand); all fields are required."
  type = map(object({
    type           = string
    instance_types = list(string)
    min_vcpus      = number
    max_vcpus      = number
    priority       = number
  }))
}

variable "subnet_ids" {
  description = "Private subnets the container instances run in."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the container instances."
  type        = list(string)
}

variable "instance_profile_arn" {
  description = "Instance profile of the container instances."
  type        = string
}

variable "service_role_arn" {
  description = "Service role Batch uses to manage the compute environments."
  type        = string
}

variable "scratch_volume_gb" {
  description = "Size of each instance's encrypted root volume (job scratch space) in GiB."
  type        = number
  default     = 200
}

variable "kms_key_arn" {
  description = "KMS key for the instance volumes; null uses the account's default EBS key."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
