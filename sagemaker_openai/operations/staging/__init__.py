"""`stage-weights`: copy a Hugging Face model into an S3 prefix laid out as the vLLM DLC reads it.

The heavy libraries (huggingface_hub, boto3's S3 transfer manager) are imported by the functions that use
them, so importing the client or its CLI stays light.
"""

from sagemaker_openai.operations.staging.layout import S3Prefix, StagingError, select_files
from sagemaker_openai.operations.staging.manifest import (
    MANIFEST_NAME,
    SHA256_METADATA_KEY,
    Manifest,
    StagedFile,
)

__all__ = [
    "MANIFEST_NAME",
    "SHA256_METADATA_KEY",
    "Manifest",
    "S3Prefix",
    "StagedFile",
    "StagingError",
    "select_files",
]
