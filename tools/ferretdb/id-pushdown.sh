#!/usr/bin/env bash
# Prepares a `go build -modfile` that fixes FerretDB v1.24.2's `_id` look-ups on SQLite.
#
# Why (docs/adr/0008-ferretdb-id-lookups-use-the-index.md): the SQLite backend creates each
# collection's unique index on `_ferretdb_sjson->"_id"` but filters, updates and deletes by `_id`
# with `_ferretdb_sjson->'$._id'`. Both mean the same, yet SQLite uses an expression index only for
# the expression written the same way, so every `_id` look-up scanned the whole table. The overlay
# changes that one constant (`metadata.IDColumn`) to the index's own expression: every `_id` read,
# update and delete becomes an index search, in every collection, from the moment it is created,
# and databases written before the fix need nothing (their index already has that expression).
#
# Nothing of FerretDB is kept in this repository: the module is copied out of the Go module cache
# at build time (Go refuses overlays of files in the cache), changed by the one substitution below,
# which must match exactly once, and used through a `replace` in a generated copy of our go.mod.
#
# Usage: id-pushdown.sh GO_BIN OUT_DIR   (prints the generated go.mod's path)
set -euo pipefail
go_bin=$1
out=$2
mod_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && "$go_bin" mod download -json github.com/FerretDB/FerretDB@v1.24.2 |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n $mod_dir && -d $mod_dir ]] || { echo "id-pushdown.sh: FerretDB v1.24.2 module not found" >&2; exit 1; }
src="$out/FerretDB@v1.24.2"
rm -rf "$src"
mkdir -p "$out"
cp -r "$mod_dir" "$src"
chmod -R u+w "$src"
file="$src/internal/backends/sqlite/metadata/metadata.go"
before="IDColumn = DefaultColumn + \"->'\$._id'\""
after='IDColumn = DefaultColumn + `->"_id"`'
count=$(grep -cF "$before" "$file" || true)
[[ $count == 1 ]] || { echo "id-pushdown.sh: expected one '$before' in $file, found $count" >&2; exit 1; }
awk -v before="$before" -v after="$after" '{ i = index($0, before); if (i) { $0 = substr($0, 1, i - 1) after substr($0, i + length(before)) } print }' "$file" >"$file.new"
mv "$file.new" "$file"
grep -qF "$after" "$file" || { echo "id-pushdown.sh: substitution did not apply" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cp "$here/go.mod" "$out/go.mod"
cp "$here/go.sum" "$out/go.sum"
printf '\nreplace github.com/FerretDB/FerretDB v1.24.2 => %s\n' "$src" >>"$out/go.mod"
echo "$out/go.mod"
