output "job_queue_names" {
  description = "Job queue name per worker pool."
  value       = { for pool, queue in aws_batch_job_queue.this : pool => queue.name }
}

output "job_queue_arns" {
  description = "Job queue ARN per worker pool."
  value       = { for pool, queue in aws_batch_job_queue.this : pool => queue.arn }
}

output "compute_environment_arns" {
  description = "Compute environment ARN per worker pool."
  value       = { for pool, environment in aws_batch_compute_environment.this : pool => environment.arn }
}

output "launch_template_id" {
  description = "Launch template of the container instances."
  value       = try(aws_launch_template.this[0].id, null)
}
