# A private hosted zone for the environment's VPC and A records in it: the names operators and
# the deploy use (foreman.<environment>.<name>.internal) instead of EC2's generated ones.
resource "aws_route53_zone" "this" {
  count = var.create ? 1 : 0

  name    = var.zone_name
  comment = "Private names of ${var.zone_name}"

  vpc {
    vpc_id = var.vpc_id
  }

  tags = var.tags
}

resource "aws_route53_record" "this" {
  # checkov:skip=CKV2_AWS_23:the records are the private IPs of instances the stack passes in (module.foreman.private_ip)
  for_each = var.create ? var.a_records : {}

  zone_id = aws_route53_zone.this[0].zone_id
  name    = "${each.key}.${var.zone_name}"
  type    = "A"
  ttl     = var.ttl
  records = each.value
}
