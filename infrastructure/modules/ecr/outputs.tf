output "repository_urls" {
  description = "Repository URL per image name."
  value       = { for name, repository in aws_ecr_repository.this : name => repository.repository_url }
}

output "repository_arns" {
  description = "Repository ARN per image name."
  value       = { for name, repository in aws_ecr_repository.this : name => repository.arn }
}
