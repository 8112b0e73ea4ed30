#!/usr/bin/env bash
# Lays out the C++ sources as .clang-format says (clang-format 14, Debian 12's).
#   tools/format.sh           rewrite the files in place
#   tools/format.sh --check   list the files that differ and exit 1 if any do (a ctest runs this)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v clang-format >/dev/null; then
  echo "clang-format is not installed (apt-get install clang-format)" >&2
  exit 2
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
else
  mapfile -t files < <(find core persistence protocol schema security actors tools tests examples \
    -name '*.cpp' -o -name '*.hpp' | sort)
fi
if [[ "${1:-}" != "--check" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
# One run over every file (a second or so); name each file that differs.
if out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
  exit 0
fi
grep -oE '^[^: ]+\.(cpp|hpp):' <<<"$out" | sed 's/:$//' | sort -u | sed 's/.*/not formatted: & (run tools\/format.sh)/'
exit 1
