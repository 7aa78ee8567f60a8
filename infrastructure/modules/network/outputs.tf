output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this[0].id, null)
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in availability-zone order."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, in availability-zone order."
  value       = aws_subnet.public[*].id
}

output "workers_security_group_id" {
  description = "Security group of the Batch workers."
  value       = try(aws_security_group.workers[0].id, null)
}

output "foreman_security_group_id" {
  description = "Security group of the foreman host."
  value       = try(aws_security_group.foreman[0].id, null)
}

output "database_security_group_id" {
  description = "Security group of the database."
  value       = try(aws_security_group.database[0].id, null)
}

output "instance_connect_endpoint_id" {
  description = "ID of the EC2 Instance Connect Endpoint (the way in)."
  value       = try(aws_ec2_instance_connect_endpoint.this[0].id, null)
}

output "instance_connect_endpoint_arn" {
  description = "ARN of the EC2 Instance Connect Endpoint (what ec2-instance-connect:OpenTunnel is granted on)."
  value       = try(aws_ec2_instance_connect_endpoint.this[0].arn, null)
}
