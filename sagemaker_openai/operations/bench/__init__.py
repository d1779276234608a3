"""`sagemaker-openai bench`: load levels against one model, measured from the streamed answers, and priced.

settings (flags to levels, workload and SLO), prompts (the requests), stream (one timed streamed request),
loadgen (closed-loop and Poisson load on one asyncio loop), measure (records and statistics), cost
(instances and the hourly price), report (table, JSON, markdown), plot (matplotlib, only for --plot),
runner (the levels in turn), progress (the live lines), command (the command's work). Its flags are
in sagemaker_openai.cli.bench.
"""
