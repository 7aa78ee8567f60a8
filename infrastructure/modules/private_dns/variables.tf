variable "create" {
  description = "Whether to create the zone and its records."
  type        = bool
  default     = true
}

variable "zone_name" {
  description = "Name of the private hosted zone, e.g. staging.refinery.internal."
  type        = string
}

variable "vpc_id" {
  description = "VPC the zone answers in."
  type        = string
}

variable "a_records" {
  description = "Map: record name inside the zone -> IPv4 addresses."
  type        = map(list(string))
  default     = {}
}

variable "ttl" {
  description = "TTL of the records in seconds."
  type        = number
  default     = 60
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
