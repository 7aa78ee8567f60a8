variable "create" {
  description = "Whether to create the network."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of every resource in the network."
  type        = string
}

variable "cidr" {
  description = "CIDR block of the VPC."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones, one private and one public subnet each."
  type        = list(string)
}

variable "private_subnet_cidrs" {
  description = "CIDR of each private subnet (workers, foreman, database), in availability-zone order."
  type        = list(string)
}

variable "public_subnet_cidrs" {
  description = "CIDR of each public subnet (NAT gateways only), in availability-zone order."
  type        = list(string)
}

variable "enable_nat_gateway" {
  description = "Whether private subnets reach the internet through NAT gateways (image pulls, public archives)."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper, not zone-redundant)."
  type        = bool
  default     = false
}

variable "ssh_ingress_cidrs" {
  description = "CIDRs allowed to reach the foreman host over SSH (runbooks); empty means none."
  type        = list(string)
  default     = []
}

variable "enable_instance_connect_endpoint" {
  description = "Whether to create the EC2 Instance Connect Endpoint (the way in: ssh through an IAM-authorised tunnel)."
  type        = bool
  default     = true
}

variable "enable_flow_log" {
  description = "Whether to record VPC flow logs to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "How long VPC flow logs are kept."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key encrypting the flow log group; null uses CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
