"""Reading an environment's logs: local files, or CloudWatch Logs through awslogs."""
