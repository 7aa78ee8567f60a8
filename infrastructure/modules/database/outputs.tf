output "address" {
  description = "Host name of the instance."
  value       = try(aws_db_instance.this[0].address, null)
}

output "port" {
  description = "Port PostgreSQL listens on."
  value       = try(aws_db_instance.this[0].port, null)
}

output "database_name" {
  description = "Database created for Refinery."
  value       = try(aws_db_instance.this[0].db_name, null)
}

output "username" {
  description = "Master user name."
  value       = try(aws_db_instance.this[0].username, null)
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the master password RDS manages."
  value       = try(aws_db_instance.this[0].master_user_secret[0].secret_arn, null)
}

output "arn" {
  description = "ARN of the instance."
  value       = try(aws_db_instance.this[0].arn, null)
}

output "identifier" {
  description = "Instance identifier (what RDS snapshots are taken of)."
  value       = try(aws_db_instance.this[0].identifier, null)
}
