output "zone_id" {
  description = "ID of the private hosted zone."
  value       = try(aws_route53_zone.this[0].zone_id, null)
}

output "fqdns" {
  description = "Map: record name -> fully qualified name."
  value       = { for name, record in aws_route53_record.this : name => record.fqdn }
}
