output "id" {
  description = "Bucket name."
  value       = try(aws_s3_bucket.this[0].id, null)
}

output "arn" {
  description = "Bucket ARN."
  value       = try(aws_s3_bucket.this[0].arn, null)
}

output "versioned_bucket" {
  description = "Bucket name, known once versioning is on (what a replication rule must wait for)."
  value       = try(aws_s3_bucket_versioning.this[0].bucket, null)
}
