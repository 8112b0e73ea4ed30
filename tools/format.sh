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
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
else
  mapfile -t files < <(find core persistence protocol schema security actors tools tests examples \
    -name '*.cpp' -o -name '*.hpp' | sort)
fi
if [[ "${1:-}" != "--check" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run tools/format.sh)"
    bad=1
  fi
done
exit $bad
