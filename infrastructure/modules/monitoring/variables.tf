variable "create" {
  description = "Whether to create the on-call topic and the alarms."
  type        = bool
  default     = true
}

variable "name_prefix" {
  description = "Prefix of the topic and alarm names."
  type        = string
}

variable "environment" {
  description = "Environment name: the Environment dimension the foreman publishes under."
  type        = string
}

variable "namespace" {
  description = "CloudWatch namespace of the foreman's metrics ([foreman] cloudwatch_namespace)."
  type        = string
  default     = "Refinery"
}

variable "oncall_emails" {
  description = "Addresses subscribed to the on-call topic (each confirms by e-mail)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key encrypting the topic; null uses the AWS-managed SNS key."
  type        = string
  default     = null
}

variable "oldest_pending_seconds" {
  description = "Alarm when a job has waited longer than this."
  type        = number
  default     = 3600
}

variable "failure_ratio" {
  description = "Alarm when this share of the attempts finishing in 15 minutes failed."
  type        = number
  default     = 0.25
}

variable "heartbeat_seconds" {
  description = "Alarm when the leading foreman's heartbeat is older than this (or missing)."
  type        = number
  default     = 120
}

variable "backup_age_seconds" {
  description = "Alarm when the newest backup is older than this (or there is none)."
  type        = number
  default     = 93600
}

variable "replication" {
  description = "The lake's replication rule to watch (source and destination bucket, rule ID); null watches none."
  type = object({
    source_bucket      = string
    destination_bucket = string
    rule_id            = string
  })
  default = null
}

variable "replication_latency_seconds" {
  description = "Alarm when the lake's copy is this many seconds behind for 15 minutes."
  type        = number
  default     = 3600
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
