"""What the kit knows about what it deploys: vLLM DLC images, GPU instance types, vLLM flag catalogs
and values, the container environment they render to, and instance-hour cost.
"""
