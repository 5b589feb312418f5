#!/usr/bin/env bash
# Writes diplanctl's shell completions and the man pages of diplanctl(1)
# and diplan-server(8) under PREFIX, from the built binaries in BIN_DIR:
# completions from diplanctl --generate-completion-script, man pages by
# swift-argument-parser's generate-manual (built first: swift build
# --product generate-manual), both from the same definitions as --help.
#   scripts/install-docs.sh BIN_DIR PREFIX
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
prefix=$2
manual=.build/debug/generate-manual
[ -x "$manual" ] || { echo "install-docs: $manual is not built: swift build --product generate-manual" >&2; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin/diplanctl" --generate-completion-script bash > "$tmp/diplanctl.bash"
"$bin/diplanctl" --generate-completion-script zsh > "$tmp/_diplanctl"
"$bin/diplanctl" --generate-completion-script fish > "$tmp/diplanctl.fish"
"$manual" "$bin/diplanctl" --section 1 --output-directory "$tmp"
"$manual" "$bin/diplan-server" --section 8 --output-directory "$tmp"

install -D -m 0644 "$tmp/diplanctl.bash" "$prefix/share/bash-completion/completions/diplanctl"
install -D -m 0644 "$tmp/_diplanctl" "$prefix/share/zsh/vendor-completions/_diplanctl"
install -D -m 0644 "$tmp/diplanctl.fish" "$prefix/share/fish/vendor_completions.d/diplanctl.fish"
install -D -m 0644 "$tmp/diplanctl.1" "$prefix/share/man/man1/diplanctl.1"
install -D -m 0644 "$tmp/diplan-server.8" "$prefix/share/man/man8/diplan-server.8"
