"""The simulated container's shell (see interpreter.py), as a package."""
from __future__ import annotations

from .interpreter import EXEC_TIMEOUT_EXIT, ShellWorld, exec_command, exec_run, files_at, run_program

__all__ = ["EXEC_TIMEOUT_EXIT", "ShellWorld", "exec_command", "exec_run", "files_at", "run_program"]
