"""Where the project's files are, for tests that run its tools or read what it ships."""
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
