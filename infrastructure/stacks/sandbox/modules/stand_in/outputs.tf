output "id" {
  description = "ID of the stand-in resource (empty when not created)."
  value       = try(null_resource.this[0].id, "")
}
