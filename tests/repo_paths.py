"""Where the repository and its demo content are, for tests at any depth."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
