#!/usr/bin/env bash
# The README's first command: sets kiln up (scripts/setup.sh), builds the demo and runs it.
# Arguments are passed to the demo; KILN_LOG, KILN_DEVICE etc. work as usual.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

kiln_setup kiln_demo
exec "$KILN_BUILD_DIR/examples/kiln_demo" "$@"
