output "role_arn" {
  description = "Role S3 replicates as."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "rule_id" {
  description = "ID of the replication rule (the RuleId dimension of the replication metrics)."
  value       = local.rule_id
}
