"""Print the packages whose pinned version in a lock file differs from ``pip freeze`` on stdin."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)")


def pins(lines) -> dict[str, str]:
    found = (PIN.match(line.strip()) for line in lines)
    return {m[1].lower().replace("_", "-"): m[2] for m in found if m}


def main() -> None:
    locked = pins(Path(sys.argv[1]).read_text().splitlines())
    newest = pins(sys.stdin)
    changed = [f"  {name}: {locked[name]} -> {ver}" for name, ver in sorted(newest.items())
               if name in locked and locked[name] != ver]
    print("\n".join(changed) or "  (none)")


if __name__ == "__main__":
    main()
