#!/usr/bin/env bash
# Prints the bin directory of a Go toolchain for GOEXPERIMENT=simd builds:
# go1.27.3 with one fix in simd/archsimd, copied to $ALIGNLAB_GO (default
# ~/.cache/alignlab/go1.27.3-simdfix, outside the repository so that the
# notebook kernel, whose PATH points there, outlives `make clean`) on first
# use. Put it first on PATH:
#
#     export PATH="$(scripts/gotoolchain.sh):$PATH"
#
# With that go first on PATH, GOTOOLCHAIN=go1.27.3 (the Makefile's) runs it
# instead of the unpatched copy in the module cache, since it is go1.27.3.
#
# The fix: archsimd.Load…Part (go1.27.3 and go1.27.4) loads a whole vector
# and masks it afterwards, so it reads up to 60 bytes past the end of a
# short slice; the Go backend's SIMD kernels call it for every row tail, and
# a buffer that ends at the last mapped page of the heap kills the process
# ("fatal error: fault"). The fixed functions copy the tail into a zeroed
# array first. `go run ./bench/simd -pagefault` shows the bug and checks
# the fix (bench/simd/README.md, section 4).
set -euo pipefail
version=go1.27.3
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="${ALIGNLAB_GO:-${XDG_CACHE_HOME:-$HOME/.cache}/alignlab/$version-simdfix}"
stampname=.alignlab-simdfix # kernel/notebook.SIMDFixStamp
# ready reports whether $dest holds the fixed $version.
ready() { [[ -f "$dest/$stampname" && "$(cat "$dest/$stampname")" == "$version" && -x "$dest/bin/go" ]]; }
if ready; then
	echo "$dest/bin"
	exit 0
fi
gobin="$(command -v go || true)"
if [[ -z "$gobin" && -x /usr/local/go/bin/go ]]; then
	gobin=/usr/local/go/bin/go
fi
if [[ -z "$gobin" ]]; then
	echo "gotoolchain.sh: no go command on PATH" >&2
	exit 1
fi
# The go command downloads the toolchain from the module proxy if needed.
src="$(cd "$here" && GOTOOLCHAIN="$version" GOFLAGS= "$gobin" env GOROOT)"
if [[ ! -d "$src/src/simd/archsimd" ]]; then
	echo "gotoolchain.sh: $src is not a $version GOROOT with simd/archsimd" >&2
	exit 1
fi
# Built aside and renamed into place, so that a concurrent run never sees
# a half-made copy.
mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$dest.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp -R "$src/." "$tmp"
chmod -R u+w "$tmp"
file="$tmp/src/simd/archsimd/slice_gen_amd64.go"
/usr/bin/python3 - "$file" <<'PY'
import re, sys
path = sys.argv[1]
s = open(path).read()
# return LoadT(pa T(s)).Masked(…), l  →  copy s into a zeroed [n]e, load that
pat = re.compile(r"\treturn Load(?P<t>(?P<k>Int|Uint|Float)(?P<b>\d+)x(?P<n>\d+))Array\(pa(?P=t)\(s\)\)(?P<rest>\.Masked\([^\n]*\), l)\n")
def fix(m):
    elem = m.group("k").lower() + m.group("b")
    return ("\tvar a [%s]%s // alignlab: load only the slice (the array load read past its end)\n"
            "\tcopy(a[:], s)\n"
            "\treturn Load%sArray(&a)%s\n") % (m.group("n"), elem, m.group("t"), m.group("rest"))
out, n = pat.subn(fix, s)
if n == 0 or re.search(r"Array\(pa\w+\(s\)\)\.Masked", out):
    sys.exit("gotoolchain.sh: %s: the partial loads are not where expected (%d fixed)" % (path, n))
open(path, "w").write(out)
print("gotoolchain.sh: fixed %d partial loads in %s" % (n, path), file=sys.stderr)
PY
echo "$version" > "$tmp/$stampname"
if [[ -e "$dest" ]] && ! ready; then
	rm -rf "$dest" # a stale or unfinished copy
fi
# A concurrent run may have put its copy there first; either one will do.
if ! mv -T "$tmp" "$dest" 2>/dev/null && ! ready; then
	echo "gotoolchain.sh: could not put the fixed toolchain at $dest" >&2
	exit 1
fi
echo "$dest/bin"
