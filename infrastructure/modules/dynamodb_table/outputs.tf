output "name" {
  description = "Table name."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "arn" {
  description = "Table ARN."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}
