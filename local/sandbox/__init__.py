"""Vendor sandbox: Vitec Express Connect and Omnicasa API v3 stand-ins for the local stack.

It shares no code with `leadhooks` on purpose: it follows the vendor docs and may disagree
with the product, exactly as the real vendors can.
"""

from local.sandbox.server import SandboxHandle, start_sandbox

__all__ = ["SandboxHandle", "start_sandbox"]
