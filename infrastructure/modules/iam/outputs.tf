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

output "bot_role_arn" {
  description = "The platform's bot on AWS: the role its pipelines (Batch jobs) run as; the only writer of sealed results."
  value       = try(aws_iam_role.batch_job[0].arn, null)
}

output "way_in_policy_arn" {
  description = "Managed policy that lets an operator open the SSH tunnel to the foreman host."
  value       = try(aws_iam_policy.way_in[0].arn, null)
}

output "github_deploy_role_arn" {
  description = "Role the release workflow assumes through GitHub OIDC (role-to-assume)."
  value       = try(aws_iam_role.github_deploy[0].arn, null)
}
