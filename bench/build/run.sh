#!/usr/bin/env bash
# Image build speed: `ztp build` of a COPY-only Dockerfile (`FROM scratch`, one COPY of a site
# of FILES files totalling SIZE_MB MB), side by side in the same run with the baselines:
#   - `tar -c | gzip -6` of the same directory, pinned to one core (what any image builder has
#     to do at least: read the files, write a tar, deflate it);
#   - `buildah bud --layers=false` of the same Dockerfile, with its storage in the temporary
#     directory, and (for information) `buildah push` of its image to an OCI layout, which is
#     when buildah compresses the layer.
# ztp runs on every core it may use and pinned to one (`taskset -c 0`); each round starts from
# an empty ZTP_HOME, so every build compresses the whole layer. ztp builds the committed tree
# (it reads the files from git's object store), the others read the work tree.
#
# The site is deterministic (seeded) and compresses like a real one: about 70% of its bytes are
# text-like files (HTML, CSS, JS, JSON, Markdown made of words of a Zipf-distributed
# vocabulary) and 30% incompressible binaries (images and fonts stand-ins), sizes log-normal.
#
# Each figure is the median of ROUNDS rounds; a round runs every builder once. Prints the time
# and output bytes of each and the ratios. Targets: ztp on one core at most 1.2x tar|gzip;
# ztp at most 1.0x buildah bud.
#
#   bench/build/run.sh [path/to/ztp]     (needs: apt-get install buildah git util-linux)
# Environment: FILES (5000), SIZE_MB (100), ROUNDS (5).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ztp=$(realpath "${1:-$root/build/release/ztp}")
files=${FILES:-5000}
size_mb=${SIZE_MB:-100}
rounds=${ROUNDS:-5}
for tool in buildah git tar gzip taskset python3; do
  command -v "$tool" >/dev/null ||
    { echo "$tool is missing: apt-get install buildah git util-linux" >&2; exit 1; }
done
[[ -x "$ztp" ]] || { echo "no ztp at $ztp: build it first (cmake --build build/release)" >&2; exit 1; }

work=$(mktemp -d)
buildah=(buildah --root "$work/buildah/root" --runroot "$work/buildah/runroot" --storage-driver overlay)
cleanup() {
  "${buildah[@]}" rm --all >/dev/null 2>&1 || true
  "${buildah[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@zerotouch.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@zerotouch.invalid

# The context: site/ (the files), the Dockerfile, ztp.yaml, and .dockerignore keeping buildah
# out of .git.
ctx="$work/ctx"
echo "making $files files, $size_mb MB ..." >&2
python3 - "$ctx/site" "$files" "$size_mb" <<'PY'
import math, os, random, sys
out, files, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20240601)
total = size_mb * 1000 * 1000
binary_bytes = total * 3 // 10
n_binary = max(1, files * 15 // 100)
n_text = max(1, files - n_binary)

def sizes(n, budget, sigma):
    raw = [rng.lognormvariate(0, sigma) for _ in range(n)]
    scale = budget / sum(raw)
    s = [max(1, int(x * scale)) for x in raw]
    s[0] += budget - sum(s)  # exact total
    if s[0] < 1:
        s[0] = 1
    return s

syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "si", "po", "de", "an", "or", "el", "in", "us",
             "ve", "tro", "bal", "cen", "dar", "fin", "gos", "hem", "jul", "kor", "lim"]
vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
                for _ in range(6000)})
rng.shuffle(vocab)
weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf, like words of a language
cum = []
acc = 0.0
for w in weights:
    acc += w
    cum.append(acc)

def words(n):
    return " ".join(rng.choices(vocab, cum_weights=cum, k=n))

def text(kind, size):
    parts, have = [], 0
    while have < size:
        if kind == "html":
            p = f'<div class="{words(2)}"><p>{words(rng.randint(8, 60))}</p><a href="/{words(1)}.html">{words(2)}</a></div>\n'
        elif kind == "css":
            p = f".{words(1)}-{words(1)} {{ margin: {rng.randint(0, 40)}px; color: #{rng.randint(0, 0xffffff):06x}; }}\n"
        elif kind == "js":
            p = f"function {words(1)}_{rng.randint(0, 999)}(a, b) {{ return a.{words(1)}(b, \"{words(3)}\"); }}\n"
        elif kind == "json":
            p = f'{{"id": {rng.randint(0, 10**6)}, "title": "{words(4)}", "tags": ["{words(1)}", "{words(1)}"]}},\n'
        else:
            p = f"## {words(3)}\n\n{words(rng.randint(20, 120))}\n\n"
        parts.append(p)
        have += len(p)
    return "".join(parts).encode()[:size]

dirs = ["pages", "blog", "docs", "assets/css", "assets/js", "data", "assets/img", "assets/fonts"]
n = 0
for i, size in enumerate(sizes(n_text, total - binary_bytes, 1.2)):
    kind = ("html", "css", "js", "json", "md")[i % 5]
    d = os.path.join(out, dirs[i % 6], f"s{i % 40:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.{kind}"), "wb") as f:
        f.write(text(kind, size))
for i, size in enumerate(sizes(n_binary, binary_bytes, 1.0)):
    ext = ("jpg", "png", "webp", "woff2")[i % 4]
    d = os.path.join(out, dirs[6 + i % 2], f"s{i % 20:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"b{i:05d}.{ext}"), "wb") as f:
        f.write(rng.randbytes(size))
PY
cat > "$ctx/Dockerfile" <<'EOT'
FROM scratch
COPY site/ /srv/site/
EOT
printf '.git\n' > "$ctx/.dockerignore"
cat > "$ctx/ztp.yaml" <<'EOT'
app: bench-build
source: {repo: ., branch: main}
build:
  dockerfile: Dockerfile
environments:
  - name: bench
    listen: 127.0.0.1:1
EOT
git -C "$ctx" init -q -b main
git -C "$ctx" add -A
git -C "$ctx" commit -q -m "the site"
context_bytes=$(find "$ctx/site" -type f -printf '%s\n' | awk '{n += $1} END {print n}')
context_files=$(find "$ctx/site" -type f | wc -l)

now_ns() { date +%s%N; }
declare -A secs bytes
# Records one round's wall time (since $2, in ns) of builder $1.
record() { secs[$1]+="$(( ($(now_ns) - $2) / 1000000 )) "; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | sed -n "$(( (rounds + 1) / 2 ))p"; }

# `ztp build` from an empty ZTP_HOME; $@ prefixes the command (taskset). Output: image size.
ztp_build() {
  rm -rf "$work/home"
  (cd "$ctx" && ZTP_HOME="$work/home" "$@" "$ztp" -o json build >"$work/ztp.json" 2>"$work/ztp.err") ||
    { echo "ztp build failed:" >&2; cat "$work/ztp.err" >&2; exit 1; }
}

for ((r = 1; r <= rounds; r++)); do
  echo "round $r of $rounds ..." >&2
  t=$(now_ns); ztp_build; record ztp_all "$t"
  t=$(now_ns); ztp_build taskset -c 0; record ztp_one "$t"
  bytes[ztp]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["size"])' "$work/ztp.json")

  t=$(now_ns)
  taskset -c 0 bash -c 'tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - site | gzip -6 > "$2"' \
    _ "$ctx" "$work/site.tar.gz"
  record tar "$t"
  bytes[tar]=$(stat -c %s "$work/site.tar.gz")
  rm -f "$work/site.tar.gz"

  t=$(now_ns)
  "${buildah[@]}" bud --quiet --layers=false --format oci -f "$ctx/Dockerfile" -t "localhost/ztp-bench-build:r$r" "$ctx" \
    >/dev/null 2>"$work/buildah.err" || { echo "buildah bud failed:" >&2; cat "$work/buildah.err" >&2; exit 1; }
  record bud "$t"
  bud_took=$(( $(now_ns) - t ))
  bytes[bud]=$("${buildah[@]}" inspect --type image "localhost/ztp-bench-build:r$r" | python3 -c '
import json, sys
m = json.loads(json.load(sys.stdin)["Manifest"])
print(m["config"]["size"] + sum(l["size"] for l in m["layers"]))')
  t=$(now_ns)
  "${buildah[@]}" push --quiet "localhost/ztp-bench-build:r$r" "oci:$work/buildah-out:latest" \
    >/dev/null 2>"$work/buildah.err" || { echo "buildah push failed:" >&2; cat "$work/buildah.err" >&2; exit 1; }
  record push "$t"
  record bud_push "$(( t - bud_took ))"  # the two steps, without the inspect between
  bytes[push]=$(du -sb --apparent-size "$work/buildah-out/blobs" | cut -f1)
  rm -rf "$work/buildah-out"
  "${buildah[@]}" rmi --force "localhost/ztp-bench-build:r$r" >/dev/null
done

declare -A med
for k in ztp_all ztp_one tar bud bud_push; do med[$k]=$(median "${secs[$k]}"); done
ms() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }
ratio() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / max(1, int(sys.argv[2])):.2f}")' "$1" "$2"; }

echo
echo "context: $context_files files, $context_bytes bytes; $(nproc) cores; median of $rounds round(s)"
printf '%-40s %10s %14s\n' "builder" "median s" "output bytes"
printf '%-40s %10s %14s\n' "ztp build (all $(nproc) cores)" "$(ms "${med[ztp_all]}")" "${bytes[ztp]}"
printf '%-40s %10s %14s\n' "ztp build (1 core, taskset -c 0)" "$(ms "${med[ztp_one]}")" "${bytes[ztp]}"
printf '%-40s %10s %14s\n' "tar -c | gzip -6 (1 core)" "$(ms "${med[tar]}")" "${bytes[tar]}"
printf '%-40s %10s %14s\n' "buildah bud --layers=false" "$(ms "${med[bud]}")" "${bytes[bud]} (tar)"
printf '%-40s %10s %14s\n' "buildah bud + push to oci: (gzip)" "$(ms "${med[bud_push]}")" "${bytes[push]}"
echo
one_vs_tar=$(ratio "${med[ztp_one]}" "${med[tar]}")
all_vs_bud=$(ratio "${med[ztp_all]}" "${med[bud]}")
echo "ztp (1 core) / tar|gzip:        $one_vs_tar   (target <= 1.2)"
echo "ztp / buildah bud:              $all_vs_bud   (target <= 1.0)"
echo "ztp / buildah bud + push:       $(ratio "${med[ztp_all]}" "${med[bud_push]}")"
echo "ztp bytes / tar|gzip bytes:     $(ratio "${bytes[ztp]}" "${bytes[tar]}")"
met=1
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 1.2 else 1)' "$one_vs_tar" || met=0
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 1.0 else 1)' "$all_vs_bud" || met=0
[[ $met == 1 ]] && echo "targets met" || echo "target missed"
