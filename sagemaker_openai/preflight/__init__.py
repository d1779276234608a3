"""`make preflight`: check a deployment against the account before CloudFormation runs.

Each module holds one group of read-only checks; ``runner`` runs them together and reports every
problem at once. A check the caller may not run (AccessDenied) is reported as ``skipped: needs
<action>`` and does not fail. The actions are listed in ``sagemaker_openai.preflight.actions``.
"""

from sagemaker_openai.preflight.report import Finding, Report, Status
from sagemaker_openai.preflight.runner import Fatal, identify, run_checks

__all__ = ["Fatal", "Finding", "Report", "Status", "identify", "run_checks"]
