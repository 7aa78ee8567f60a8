variable "create" {
  description = "Whether to create the stand-in resource."
  type        = bool
  default     = true
}

variable "triggers" {
  description = "Attributes whose change forces a replacement; protected = \"true\" marks a protected stand-in."
  type        = map(string)
  default     = {}
}
