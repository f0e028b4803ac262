#!/usr/bin/env bash
# Fetches the third-party test vectors listed in tests/vectors.lock from their public
# repositories at the pinned commits, checks each against its recorded SHA-256 and writes it
# atomically into a cache outside the source tree. A file whose sum does not match is refused
# (nothing is written for it). Files already in the cache with the right sum are kept, so a
# second run needs no network. Prints the cache directory on stdout; point the tests at it with
# ZTP_VECTORS_DIR (scripts/test.sh does).
#
#   scripts/fetch-vectors.sh            fetch what is missing into the cache
#   scripts/fetch-vectors.sh --check D  only check that D holds every file with its sum
#
# Environment:
#   ZTP_VECTORS_CACHE     the cache (default ${XDG_CACHE_HOME:-~/.cache}/ztp/vectors)
#   ZTP_VECTORS_BASE_URL  where OWNER/REPO/COMMIT/PATH is read from
#                         (default https://raw.githubusercontent.com)
#   ZTP_VECTORS_LOCK      the list of files (default tests/vectors.lock)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
lock="${ZTP_VECTORS_LOCK:-$root/tests/vectors.lock}"
base="${ZTP_VECTORS_BASE_URL:-https://raw.githubusercontent.com}"
base="${base%/}"
cache="${ZTP_VECTORS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ztp/vectors}"

say() { printf 'fetch-vectors: %s\n' "$*" >&2; }

if [ ! -r "$lock" ]; then
  say "cannot read the list of vectors $lock"
  exit 2
fi

sum_of() { sha256sum "$1" | cut -d' ' -f1; }

# The lock's entries: sha256 local-path repo commit upstream-path, comments and blanks left out.
entries() { grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$lock"; }

if [ "${1:-}" = "--check" ]; then
  dir="${2:?usage: fetch-vectors.sh --check DIR}"
  bad=0
  while read -r sum path _; do
    if [ ! -f "$dir/$path" ]; then
      say "missing: $dir/$path"
      bad=1
    elif [ "$(sum_of "$dir/$path")" != "$sum" ]; then
      say "SHA-256 mismatch: $dir/$path is not the file tests/vectors.lock records ($sum)"
      bad=1
    fi
  done < <(entries)
  exit "$bad"
elif [ $# -gt 0 ]; then
  say "unknown argument $1 (use --check DIR, or nothing)"
  exit 2
fi

if ! command -v curl >/dev/null; then
  say "curl is not installed: run \`apt-get install curl\` (or scripts/install-deps.sh)"
  exit 2
fi

mkdir -p "$cache"
failed=0
fetched=0
while read -r sum path repo commit upstream; do
  dest="$cache/$path"
  if [ -f "$dest" ] && [ "$(sum_of "$dest")" = "$sum" ]; then
    continue
  fi
  url="$base/$repo/$commit/$upstream"
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp "$dest.part.XXXXXX")"
  if ! err="$(curl --fail --silent --show-error --location --max-time 60 --retry 2 \
    --output "$tmp" "$url" 2>&1)"; then
    rm -f "$tmp"
    say "cannot download $url: $err"
    failed=1
    continue
  fi
  got="$(sum_of "$tmp")"
  if [ "$got" != "$sum" ]; then
    rm -f "$tmp"
    say "refused $url: its SHA-256 is $got, but tests/vectors.lock records $sum for $path"
    failed=1
    continue
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$dest"
  fetched=$((fetched + 1))
done < <(entries)

if [ "$failed" -ne 0 ]; then
  say "some vectors are missing from $cache. Without network access, copy them from a machine"
  say "that has them (or use a checkout of the repositories in tests/vectors.lock) and set"
  say "ZTP_VECTORS_DIR to that folder."
  exit 1
fi
say "$fetched file(s) fetched; all vectors of tests/vectors.lock are in $cache"
printf '%s\n' "$cache"
