"""byok-guard: keep Bring-Your-Own-Key encryption healthy.

The package is the Lambda layer shared by every function. The domain core (``policy``,
``contract``, ``validation``, ``health``, ``events``) never imports boto3; AWS calls live in
``byok.aws`` and ``byok.store`` so that handlers stay thin and the core is testable without AWS.
"""

__version__ = "0.1.0"
