output "foreman_instance_profile_name" {
  description = "Instance profile of the foreman host."
  value       = try(aws_iam_instance_profile.foreman[0].name, null)
}

output "foreman_role_arn" {
  description = "Role of the foreman host."
  value       = try(aws_iam_role.foreman[0].arn, null)
}

output "batch_job_role_arn" {
  description = "Role worker jobs run as."
  value       = try(aws_iam_role.batch_job[0].arn, null)
}

output "batch_execution_role_arn" {
  description = "Role Batch uses to pull images and write job logs."
  value       = try(aws_iam_role.batch_execution[0].arn, null)
}

output "batch_instance_profile_arn" {
  description = "Instance profile of Batch container instances."
  value       = try(aws_iam_instance_profile.batch_instance[0].arn, null)
}

output "batch_service_role_arn" {
  description = "Service role of the Batch compute environments."
  value       = try(aws_iam_role.batch_service[0].arn, null)
}
