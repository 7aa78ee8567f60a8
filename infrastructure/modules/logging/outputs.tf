output "name" {
  description = "Log group name."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "arn" {
  description = "Log group ARN."
  value       = try(aws_cloudwatch_log_group.this[0].arn, null)
}
