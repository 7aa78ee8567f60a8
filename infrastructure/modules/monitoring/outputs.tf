output "topic_arn" {
  description = "ARN of the on-call SNS topic the alarms notify."
  value       = try(aws_sns_topic.this[0].arn, null)
}

output "alarm_names" {
  description = "Names of the alarms."
  value = concat(
    [for alarm in aws_cloudwatch_metric_alarm.threshold : alarm.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.failure_rate : alarm.alarm_name],
  )
}
