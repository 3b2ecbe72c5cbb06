# Sourced by scripts/build.sh and scripts/size_dicom.sh (from the repository root): reading
# wasm-pack.toml, and the cargo profile settings it declares for the wasm builds.

# cfg KEY.PATH: a value of wasm-pack.toml (Python's tomllib, standard since 3.11); lists are
# printed space-separated, booleans as true/false. Fails when the key is missing.
cfg() { python3 -c '
import sys, tomllib
v = tomllib.load(open("wasm-pack.toml", "rb"))
for k in sys.argv[1].split("."):
    v = v[k]
print(" ".join(v) if isinstance(v, list) else (str(v).lower() if isinstance(v, bool) else v))' "$1"; }

# export_wasm_profile PROFILE: [cargo_profile] of wasm-pack.toml as CARGO_PROFILE_<PROFILE>_<KEY>,
# which override Cargo.toml's profile for this process only (native builds keep theirs).
export_wasm_profile() {
  local var k val
  var="CARGO_PROFILE_$(echo "$1" | tr a-z- A-Z_)"
  for k in lto codegen-units opt-level panic; do
    val="$(cfg "cargo_profile.$k" 2>/dev/null || true)"
    if [ -n "$val" ]; then export "${var}_$(echo "$k" | tr a-z- A-Z_)=$val"; fi
  done
}
