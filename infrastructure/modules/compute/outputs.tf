output "private_dns" {
  description = "Private DNS name of the host."
  value       = try(aws_instance.this[0].private_dns, null)
}

output "instance_id" {
  description = "EC2 instance ID."
  value       = try(aws_instance.this[0].id, null)
}

output "private_ip" {
  description = "Private IP address of the host (the target of its DNS record)."
  value       = try(aws_instance.this[0].private_ip, null)
}
