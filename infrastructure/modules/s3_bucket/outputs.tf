output "id" {
  description = "Bucket name."
  value       = try(aws_s3_bucket.this[0].id, null)
}

output "arn" {
  description = "Bucket ARN."
  value       = try(aws_s3_bucket.this[0].arn, null)
}
